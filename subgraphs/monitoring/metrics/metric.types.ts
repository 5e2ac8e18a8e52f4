// The GraphQL types of metrics: series and their points, labels, aggregations, the scalar a sample's value travels
// in (JSON has no NaN or Infinity, so they come as strings, to be refused one sample at a time), and the scalar of a
// sample in the compact form.
import { GraphQLScalarType, Kind, valueFromASTUntyped } from 'graphql';
import { Field, Float, ObjectType, registerEnumType } from 'type-graphql';

export enum MetricAggregation {
  AVG = 'AVG',
  MIN = 'MIN',
  MAX = 'MAX',
  SUM = 'SUM',
  COUNT = 'COUNT',
  LAST = 'LAST',
}
registerEnumType(MetricAggregation, { name: 'MetricAggregation', description: 'How the samples within one step become one point.' });

export enum LabelMatch {
  EQ = 'EQ',
  NE = 'NE',
  REGEX = 'REGEX',
  NOT_REGEX = 'NOT_REGEX',
}
registerEnumType(LabelMatch, {
  name: 'LabelMatch',
  description: 'EQ and NE compare the whole value (an absent label is ""); REGEX and NOT_REGEX match the whole value, as Prometheus does.',
});

/** What a sample's value parses to: a number, or the text that was not one (refused with the sample). */
export type SampleValueInput = number | { notANumber: string };

const SPECIAL_VALUES: Record<string, number> = { nan: NaN, '+inf': Infinity, inf: Infinity, infinity: Infinity, '+infinity': Infinity, '-inf': -Infinity, '-infinity': -Infinity };

/** Reads a sample's value: a number, Prometheus' spellings of NaN and the infinities, or the text that is neither. */
export function parseSampleValue(value: unknown): SampleValueInput {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const special = SPECIAL_VALUES[value.trim().toLowerCase()];
    if (special !== undefined) return special;
    const number = value.trim() === '' ? NaN : Number(value);
    return Number.isNaN(number) ? { notANumber: value } : number;
  }
  return { notANumber: JSON.stringify(value) ?? String(value) };
}

export const SampleValueScalar = new GraphQLScalarType({
  name: 'SampleValue',
  description:
    'A sample\'s value: a number. The strings "NaN", "+Inf" and "-Inf" (Prometheus\' spellings) are understood too, so that such a ' +
    'sample can be refused on its own rather than the whole request.',
  serialize: (value) => value,
  parseValue: parseSampleValue,
  parseLiteral(ast) {
    if (ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return Number(ast.value);
    if (ast.kind === Kind.STRING) return parseSampleValue(ast.value);
    return { notANumber: ast.kind };
  },
});

/**
 * A sample in the compact form, passed on as it came: GraphQL checks nothing inside it, so that one bad row is refused
 * on its own (checkRow in metric.inputs.ts) rather than failing the whole request, and a large report costs GraphQL
 * one value per sample instead of an object per sample and per label.
 */
export const MetricSampleRowScalar = new GraphQLScalarType({
  name: 'MetricSampleRow',
  description:
    'A sample in the compact form: the JSON array `[name, labels, value]` or `[name, labels, value, at]`, where `labels` is an object ' +
    '(`{"model": "xg", "version": "1.0.0"}`) or null, `value` is as in SampleValue, and `at` is an RFC 3339 time or whole milliseconds ' +
    'since the epoch (now when left out). Checked as MetricSampleInput is.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

@ObjectType({ description: 'A label of a metric series.' })
export class MetricLabel {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  value!: string;
}

@ObjectType({ description: 'One point of a series: the samples of one step, aggregated.' })
export class MetricPoint {
  @Field(() => Date, { description: 'The start of the step.' })
  at!: Date;

  @Field(() => Float)
  value!: number;
}

@ObjectType({ description: 'A metric with one set of labels, and its points over the range asked for.' })
export class MetricSeries {
  @Field(() => String)
  name!: string;

  @Field(() => [MetricLabel], { description: 'Sorted by key.' })
  labels!: MetricLabel[];

  @Field(() => [MetricPoint], { description: 'Oldest first; steps without samples have no point.' })
  points!: MetricPoint[];
}

@ObjectType({ description: 'The latest sample of one series.' })
export class LatestMetric {
  @Field(() => String)
  name!: string;

  @Field(() => [MetricLabel], { description: 'Sorted by key.' })
  labels!: MetricLabel[];

  @Field(() => Float)
  value!: number;

  @Field(() => Date)
  at!: Date;
}

export function toLabels(labels: Record<string, string>): MetricLabel[] {
  return Object.keys(labels)
    .sort()
    .map((key) => Object.assign(new MetricLabel(), { key, value: labels[key]! }));
}
