// Inputs of reportMetrics and metricSeries, and the rules a sample must follow (Prometheus' names, base units,
// finite values, sane timestamps, bounded labels).
import { Field, InputType } from 'type-graphql';
import { LabelMatch, SampleValueScalar, type SampleValueInput } from './metric.types';

export const METRIC_LIMITS = {
  /** Samples in one reportMetrics call. */
  samplesPerReport: 10_000,
  nameLength: 200,
  labelsPerSample: 16,
  labelKeyLength: 100,
  labelValueLength: 200,
  /** How far ahead of the server's clock a sample may be (agents' clocks drift). */
  futureSkewMs: 5 * 60_000,
};

export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_KEY = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;

@InputType()
export class MetricLabelInput {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  value!: string;
}

@InputType({ description: 'One measurement.' })
export class MetricSampleInput {
  @Field(() => String, { description: 'A Prometheus-style name in base units, for example `node_memory_used_bytes`.' })
  name!: string;

  @Field(() => [MetricLabelInput], { nullable: true, description: 'For example `gpu`, `job`, `model`, `version`.' })
  labels?: MetricLabelInput[] | null;

  @Field(() => SampleValueScalar, { nullable: true, description: 'Must be finite.' })
  value?: SampleValueInput | null;

  @Field(() => Date, { nullable: true, description: 'When it was measured; now when left out.' })
  at?: Date | null;
}

@InputType()
export class ReportMetricsInput {
  @Field(() => [MetricSampleInput], { description: `At most ${METRIC_LIMITS.samplesPerReport}.` })
  samples!: MetricSampleInput[];
}

@InputType({ description: 'Selects series by one label.' })
export class LabelMatcherInput {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  value!: string;

  @Field(() => LabelMatch, { defaultValue: LabelMatch.EQ })
  match!: LabelMatch;
}

/** A sample that passed its checks: its labels sorted by key, its time in epoch milliseconds. */
export interface CheckedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  at: number;
}

/** Why one sample was refused: the field at fault within it, and the reason. */
export interface SampleProblem {
  field: string;
  reason: string;
}

export interface SampleRules {
  now: number;
  /** The oldest time a sample may have (the raw retention). */
  oldest: number;
  /** Labels every sample must have. */
  requiredLabels: readonly string[];
  /** Labels set by who reports (a node's own `node`): a sample may leave them out, not contradict them. */
  forcedLabels: Readonly<Record<string, string>>;
}

/** Checks one sample; returns it normalized, or the first problem found. */
export function checkSample(sample: MetricSampleInput, rules: SampleRules): CheckedSample | SampleProblem {
  const { name } = sample;
  if (name.length === 0) return { field: 'name', reason: 'must not be empty' };
  if (name.length > METRIC_LIMITS.nameLength) return { field: 'name', reason: `must be at most ${METRIC_LIMITS.nameLength} characters` };
  if (!METRIC_NAME.test(name)) {
    return { field: 'name', reason: `"${name}" is not a metric name: use letters, digits, _ and :, not starting with a digit (for example node_memory_used_bytes)` };
  }

  const value = sample.value;
  if (value === null || value === undefined) return { field: 'value', reason: 'is required (JSON turns NaN and Infinity into null)' };
  if (typeof value !== 'number') return { field: 'value', reason: `must be a number (got ${value.notANumber.slice(0, 50)})` };
  if (!Number.isFinite(value)) return { field: 'value', reason: `must be finite (got ${value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN'})` };

  const at = sample.at ? sample.at.getTime() : rules.now;
  if (Number.isNaN(at)) return { field: 'at', reason: 'is not a valid time' };
  if (at > rules.now + METRIC_LIMITS.futureSkewMs) return { field: 'at', reason: 'is more than 5 minutes in the future' };
  if (at < rules.oldest) return { field: 'at', reason: `is older than the raw retention (${new Date(rules.oldest).toISOString()})` };

  const given = sample.labels ?? [];
  if (given.length > METRIC_LIMITS.labelsPerSample) return { field: 'labels', reason: `must be at most ${METRIC_LIMITS.labelsPerSample}` };
  const labels: Record<string, string> = {};
  for (const { key, value: labelValue } of given) {
    const field = `labels.${key.slice(0, METRIC_LIMITS.labelKeyLength)}`;
    if (key.length > METRIC_LIMITS.labelKeyLength) return { field: 'labels', reason: `a key must be at most ${METRIC_LIMITS.labelKeyLength} characters` };
    if (!LABEL_KEY.test(key)) return { field, reason: `"${key}" is not a label name: use letters, digits and _, not starting with a digit` };
    if (key.startsWith('__')) return { field, reason: 'names starting with __ are reserved' };
    if (Object.hasOwn(labels, key)) return { field, reason: 'is given twice' };
    if (labelValue.length === 0) return { field, reason: 'must not be empty (leave the label out instead)' };
    if (labelValue.length > METRIC_LIMITS.labelValueLength) return { field, reason: `must be at most ${METRIC_LIMITS.labelValueLength} characters` };
    if (!PRINTABLE.test(labelValue)) return { field, reason: 'must not contain control characters' };
    labels[key] = labelValue;
  }
  for (const [key, forced] of Object.entries(rules.forcedLabels)) {
    if (Object.hasOwn(labels, key) && labels[key] !== forced) return { field: `labels.${key}`, reason: `must be ${forced}: a node reports its own metrics only` };
    labels[key] = forced;
  }
  for (const key of rules.requiredLabels) {
    if (!Object.hasOwn(labels, key)) return { field: `labels.${key}`, reason: `is required (model metrics carry ${rules.requiredLabels.join(' and ')})` };
  }
  if (Object.keys(labels).length > METRIC_LIMITS.labelsPerSample) return { field: 'labels', reason: `must be at most ${METRIC_LIMITS.labelsPerSample}` };
  return { name, labels: sortedLabels(labels), value, at };
}

export function sortedLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(labels).sort().map((key) => [key, labels[key]!]));
}
