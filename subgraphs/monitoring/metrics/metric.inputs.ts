// Inputs of reportMetrics and metricSeries, and the rules a sample must follow (Prometheus' names, base units,
// finite values, sane timestamps, bounded labels) in either form it travels in: an object, or a compact row.
import { Field, InputType } from 'type-graphql';
import { LabelMatch, MetricSampleRowScalar, parseSampleValue, SampleValueScalar, type SampleValueInput } from './metric.types';

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
/** RFC 3339: date, time, optional fraction, and Z or an offset. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const ROW_SHAPE = 'must be an array [name, labels, value] or [name, labels, value, at]';

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

@InputType({ description: 'Samples in one of two forms, not both: `samples` (an object each) or `rows` (compact).' })
export class ReportMetricsInput {
  @Field(() => [MetricSampleInput], { nullable: true, description: `At most ${METRIC_LIMITS.samplesPerReport}.` })
  samples?: MetricSampleInput[] | null;

  @Field(() => [MetricSampleRowScalar], {
    nullable: true,
    description:
      `The same in the compact form, at most ${METRIC_LIMITS.samplesPerReport}: about half the bytes, and a fraction of the work for ` +
      'the gateway and the monitoring subgraph. For agents and jobs that report many samples at a time.',
  })
  rows?: unknown[] | null;
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

/** Checks one sample of the object form; returns it normalized, or the first problem found. */
export function checkSample(sample: MetricSampleInput, rules: SampleRules): CheckedSample | SampleProblem {
  const given = sample.labels ?? [];
  return checkParts(sample.name, sample.value, sample.at ? sample.at.getTime() : undefined, given.length, rules, (labels) => {
    for (const { key, value } of given) {
      const problem = addLabel(labels, key, value);
      if (problem) return problem;
    }
    return undefined;
  });
}

/**
 * Checks one sample of the compact form (`[name, labels, value, at?]`, as JSON gave it: nothing about it is known
 * yet); returns it normalized, or the first problem found.
 */
export function checkRow(row: unknown, rules: SampleRules): CheckedSample | SampleProblem {
  if (!Array.isArray(row) || row.length < 3 || row.length > 4) return { field: 'row', reason: ROW_SHAPE };
  const [name, given, value, at] = row as unknown[];
  if (typeof name !== 'string') return { field: 'name', reason: 'must be a string' };
  if (given !== null && given !== undefined && (typeof given !== 'object' || Array.isArray(given))) {
    return { field: 'labels', reason: 'must be an object of label names to values, or null' };
  }
  const labelObject = (given ?? {}) as Record<string, unknown>;
  const keys = Object.keys(labelObject);
  let time: number | undefined;
  if (at === null || at === undefined) time = undefined;
  else if (typeof at === 'number') time = Number.isSafeInteger(at) ? at : NaN;
  else if (typeof at === 'string') time = parseRfc3339(at);
  else time = NaN;
  return checkParts(name, value === null || value === undefined ? value : parseSampleValue(value), time, keys.length, rules, (labels) => {
    for (const key of keys) {
      const problem = addLabel(labels, key, labelObject[key]);
      if (problem) return problem;
    }
    return undefined;
  });
}

/**
 * The checks both forms share, in the order their problems are reported: name, value, time, labels (`readLabels`
 * adds the sample's own, each checked), the reporter's labels, the required ones.
 */
function checkParts(
  name: string,
  value: SampleValueInput | null | undefined,
  at: number | undefined,
  labelCount: number,
  rules: SampleRules,
  readLabels: (labels: Record<string, string>) => SampleProblem | undefined,
): CheckedSample | SampleProblem {
  if (name.length === 0) return { field: 'name', reason: 'must not be empty' };
  if (name.length > METRIC_LIMITS.nameLength) return { field: 'name', reason: `must be at most ${METRIC_LIMITS.nameLength} characters` };
  if (!METRIC_NAME.test(name)) {
    return { field: 'name', reason: `"${name}" is not a metric name: use letters, digits, _ and :, not starting with a digit (for example node_memory_used_bytes)` };
  }

  if (value === null || value === undefined) return { field: 'value', reason: 'is required (JSON turns NaN and Infinity into null)' };
  if (typeof value !== 'number') return { field: 'value', reason: `must be a number (got ${value.notANumber.slice(0, 50)})` };
  if (!Number.isFinite(value)) return { field: 'value', reason: `must be finite (got ${value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN'})` };

  const time = at ?? rules.now;
  if (Number.isNaN(time)) return { field: 'at', reason: 'is not a valid time (an RFC 3339 time, or whole milliseconds since the epoch)' };
  if (time > rules.now + METRIC_LIMITS.futureSkewMs) return { field: 'at', reason: 'is more than 5 minutes in the future' };
  if (time < rules.oldest) return { field: 'at', reason: `is older than the raw retention (${new Date(rules.oldest).toISOString()})` };

  if (labelCount > METRIC_LIMITS.labelsPerSample) return { field: 'labels', reason: `must be at most ${METRIC_LIMITS.labelsPerSample}` };
  const labels: Record<string, string> = {};
  const problem = readLabels(labels);
  if (problem) return problem;
  let count = labelCount;
  for (const key in rules.forcedLabels) {
    const forced = rules.forcedLabels[key]!;
    if (Object.hasOwn(labels, key)) {
      if (labels[key] !== forced) return { field: `labels.${key}`, reason: `must be ${forced}: a node reports its own metrics only` };
    } else {
      labels[key] = forced;
      count++;
    }
  }
  for (const key of rules.requiredLabels) {
    if (!Object.hasOwn(labels, key)) return { field: `labels.${key}`, reason: `is required (model metrics carry ${rules.requiredLabels.join(' and ')})` };
  }
  if (count > METRIC_LIMITS.labelsPerSample) return { field: 'labels', reason: `must be at most ${METRIC_LIMITS.labelsPerSample}` };
  return { name, labels: sortedLabels(labels), value, at: time };
}

/** Checks one label and adds it to `labels`. */
function addLabel(labels: Record<string, string>, key: string, value: unknown): SampleProblem | undefined {
  const field = `labels.${key.slice(0, METRIC_LIMITS.labelKeyLength)}`;
  if (key.length > METRIC_LIMITS.labelKeyLength) return { field: 'labels', reason: `a key must be at most ${METRIC_LIMITS.labelKeyLength} characters` };
  if (!LABEL_KEY.test(key)) return { field, reason: `"${key}" is not a label name: use letters, digits and _, not starting with a digit` };
  if (key.startsWith('__')) return { field, reason: 'names starting with __ are reserved' };
  if (Object.hasOwn(labels, key)) return { field, reason: 'is given twice' };
  if (typeof value !== 'string') return { field, reason: 'must be a string' };
  if (value.length === 0) return { field, reason: 'must not be empty (leave the label out instead)' };
  if (value.length > METRIC_LIMITS.labelValueLength) return { field, reason: `must be at most ${METRIC_LIMITS.labelValueLength} characters` };
  if (!PRINTABLE.test(value)) return { field, reason: 'must not contain control characters' };
  labels[key] = value;
  return undefined;
}

/** The labels with their keys in order: the same object when they already are (JSON usually keeps a client's order). */
export function sortedLabels(labels: Record<string, string>): Record<string, string> {
  const keys = Object.keys(labels);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1]! < keys[i]!;
  if (sorted) return labels;
  return Object.fromEntries(keys.sort().map((key) => [key, labels[key]!]));
}

/** Epoch milliseconds of an RFC 3339 time, or NaN when it is not one (a 30 February included). */
export function parseRfc3339(text: string): number {
  const match = RFC3339.exec(text);
  if (!match) return NaN;
  const [, year, month, day, hour, minute, second, fraction, zulu, sign, offsetHours, offsetMinutes] = match;
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  if (m < 1 || m > 12 || d < 1 || d > new Date(Date.UTC(y, m, 0)).getUTCDate()) return NaN;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return NaN;
  const millis = fraction ? Number(fraction.slice(0, 3).padEnd(3, '0')) : 0;
  let offset = 0;
  if (!zulu) {
    if (Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return NaN;
    offset = (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  }
  // Date.UTC reads years 0 to 99 as 1900 to 1999; such times are refused as too old anyway.
  return Date.UTC(y, m - 1, d, Number(hour), Number(minute), Number(second), millis) - offset;
}
