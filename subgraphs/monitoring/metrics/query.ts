// Reads series back: the series of a name that match the label matchers, their samples aggregated per step, from
// raw samples where they are still kept and from per-minute rollups beyond.
import { In, type EntityManager, type FindOptionsWhere } from 'typeorm';
import { BadInputError } from '../../../common/graphql/errors';
import { MetricRollup, MetricSample, StoredSeries } from './metric.entity';
import { LabelMatch, LatestMetric, MetricAggregation, MetricPoint, MetricSeries, toLabels } from './metric.types';
import type { LabelMatcherInput } from './metric.inputs';
import { statement, tableOf } from './sql';

export const QUERY_LIMITS = {
  /** Series one query may return. */
  series: 500,
  /** Points per series (as Prometheus' 11,000). */
  pointsPerSeries: 11_000,
  /** Points the default step aims at. */
  defaultPoints: 300,
  matchers: 20,
  /** Series of one name read to match labels that have no column of their own. */
  candidates: 50_000,
};

export interface SeriesQuery {
  name: string;
  matchers: readonly LabelMatcherInput[];
  from: Date;
  to: Date;
  /** Seconds; chosen from the range when left out. */
  step?: number | null;
  aggregation: MetricAggregation;
}

/** One bucket's summary, from raw samples, rollups or both. */
interface Bucket {
  min: number;
  max: number;
  sum: number;
  count: number;
  lastAt: number;
  last: number;
}

const CHUNK = 500;

export async function querySeries(em: EntityManager, query: SeriesQuery): Promise<MetricSeries[]> {
  const from = query.from.getTime();
  const to = query.to.getTime();
  if (!(to > from)) throw new BadInputError('to', 'must be later than from');
  const rangeSeconds = (to - from) / 1000;
  const step = query.step ?? Math.max(1, Math.ceil(rangeSeconds / QUERY_LIMITS.defaultPoints));
  if (!Number.isInteger(step) || step < 1) throw new BadInputError('step', `must be a whole number of seconds above 0 (got ${step})`);
  const points = Math.ceil(rangeSeconds / step);
  if (points > QUERY_LIMITS.pointsPerSeries) {
    throw new BadInputError('step', `gives ${points} points per series, more than ${QUERY_LIMITS.pointsPerSeries}: use a step of at least ${Math.ceil(rangeSeconds / QUERY_LIMITS.pointsPerSeries)}`);
  }
  const series = await matchingSeries(em, query.name, query.matchers);
  if (series.length === 0) return [];

  const stepMs = step * 1000;
  const wantLast = query.aggregation === MetricAggregation.LAST;
  const buckets = new Map<string, Map<number, Bucket>>(series.map((s) => [s.id, new Map()]));
  for (let offset = 0; offset < series.length; offset += CHUNK) {
    const ids = series.slice(offset, offset + CHUNK).map((s) => s.id);
    for (const source of ['raw', 'rollup'] as const) {
      for (const row of await bucketSummaries(em, source, ids, from, to, stepMs, wantLast)) {
        const forSeries = buckets.get(row.seriesId)!;
        const before = forSeries.get(row.bucket);
        forSeries.set(row.bucket, before ? merge(before, row) : row);
      }
    }
  }
  return series.map((s) =>
    Object.assign(new MetricSeries(), {
      name: s.name,
      labels: toLabels(s.labels),
      points: [...buckets.get(s.id)!.entries()]
        .sort(([a], [b]) => a - b)
        .map(([bucket, summary]) => Object.assign(new MetricPoint(), { at: new Date(from + bucket * stepMs), value: aggregate(summary, query.aggregation) })),
    }),
  );
}

/** The series of `name` whose labels satisfy every matcher, by labels. */
async function matchingSeries(em: EntityManager, name: string, matchers: readonly LabelMatcherInput[]): Promise<StoredSeries[]> {
  if (matchers.length > QUERY_LIMITS.matchers) throw new BadInputError('labels', `at most ${QUERY_LIMITS.matchers} matchers`);
  const tests = matchers.map((matcher, i) => labelTest(matcher, i));
  const where: FindOptionsWhere<StoredSeries> = { name };
  // The labels the table holds in columns narrow the search in SQL; the rest are matched here.
  for (const matcher of matchers) {
    if (matcher.match === LabelMatch.EQ && (matcher.key === 'node' || matcher.key === 'job')) where[matcher.key] = matcher.value;
  }
  const candidates = await em.find(StoredSeries, { where, take: QUERY_LIMITS.candidates + 1 });
  if (candidates.length > QUERY_LIMITS.candidates) {
    throw new BadInputError('labels', `${name} has more than ${QUERY_LIMITS.candidates} series: add a node or job label matcher (EQ)`);
  }
  const matched = candidates.filter((series) => tests.every((test) => test(series.labels[test.key] ?? '')));
  if (matched.length > QUERY_LIMITS.series) {
    throw new BadInputError('labels', `match ${matched.length} series, more than ${QUERY_LIMITS.series}: add label matchers`);
  }
  return matched.sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
}

function labelTest(matcher: LabelMatcherInput, index: number): ((value: string) => boolean) & { key: string } {
  let test: (value: string) => boolean;
  switch (matcher.match) {
    case LabelMatch.EQ:
      test = (value) => value === matcher.value;
      break;
    case LabelMatch.NE:
      test = (value) => value !== matcher.value;
      break;
    default: {
      if (matcher.value.length > 500) throw new BadInputError(`labels[${index}].value`, 'a pattern must be at most 500 characters');
      let pattern: RegExp;
      try {
        pattern = new RegExp(`^(?:${matcher.value})$`);
      } catch {
        throw new BadInputError(`labels[${index}].value`, `is not a valid regular expression: ${matcher.value}`);
      }
      test = matcher.match === LabelMatch.REGEX ? (value) => pattern.test(value) : (value) => !pattern.test(value);
    }
  }
  return Object.assign(test, { key: matcher.key });
}

/** Per series and step: min, max, sum, count and (for LAST) the latest value, from raw samples or from rollups. */
async function bucketSummaries(
  em: EntityManager,
  source: 'raw' | 'rollup',
  seriesIds: readonly string[],
  from: number,
  to: number,
  stepMs: number,
  wantLast: boolean,
): Promise<(Bucket & { seriesId: string; bucket: number })[]> {
  const { parameters, bind } = statement(em);
  const samples = tableOf(em, MetricSample);
  const rollups = tableOf(em, MetricRollup);
  // Placeholders are bound in the order they appear (SQLite's are positional).
  const ids = () => seriesIds.map(bind).join(', ');
  // A rollup is placed by its minute's start; one that began before `from` counts in the first step.
  const grouped =
    source === 'raw'
      ? `SELECT "series_id", CAST(("at" - ${bind(from)}) / ${bind(stepMs)} AS BIGINT) AS "bucket", MIN("value") AS "min", MAX("value") AS "max",
           SUM("value") AS "sum", COUNT(*) AS "count", MAX("at") AS "lastAt"
         FROM ${samples} WHERE "series_id" IN (${ids()}) AND "at" >= ${bind(from)} AND "at" < ${bind(to)} GROUP BY 1, 2`
      : `SELECT "series_id", CASE WHEN "minute" < ${bind(from)} THEN 0 ELSE CAST(("minute" - ${bind(from)}) / ${bind(stepMs)} AS BIGINT) END AS "bucket",
           MIN("min") AS "min", MAX("max") AS "max", SUM("sum") AS "sum", SUM("count") AS "count", MAX("last_at") AS "lastAt",
           MAX("minute") AS "lastMinute"
         FROM ${rollups} WHERE "series_id" IN (${ids()}) AND "minute" > ${bind(from - 60_000)} AND "minute" < ${bind(to)} GROUP BY 1, 2`;
  const sql = !wantLast
    ? grouped
    : source === 'raw'
      ? `SELECT g.*, s."value" AS "last" FROM (${grouped}) g JOIN ${samples} s ON s."series_id" = g."series_id" AND s."at" = g."lastAt"`
      : `SELECT g.*, r."last" AS "last" FROM (${grouped}) g JOIN ${rollups} r ON r."series_id" = g."series_id" AND r."minute" = g."lastMinute"`;
  const rows: Record<string, string | number>[] = await em.query(sql, parameters);
  return rows.map((row) => ({
    seriesId: String(row.series_id),
    bucket: Number(row.bucket),
    min: Number(row.min),
    max: Number(row.max),
    sum: Number(row.sum),
    count: Number(row.count),
    lastAt: Number(row.lastAt),
    last: Number(row.last ?? NaN),
  }));
}

function merge(a: Bucket, b: Bucket): Bucket {
  const later = b.lastAt >= a.lastAt ? b : a;
  return { min: Math.min(a.min, b.min), max: Math.max(a.max, b.max), sum: a.sum + b.sum, count: a.count + b.count, lastAt: later.lastAt, last: later.last };
}

function aggregate(bucket: Bucket, aggregation: MetricAggregation): number {
  switch (aggregation) {
    case MetricAggregation.AVG:
      return bucket.sum / bucket.count;
    case MetricAggregation.MIN:
      return bucket.min;
    case MetricAggregation.MAX:
      return bucket.max;
    case MetricAggregation.SUM:
      return bucket.sum;
    case MetricAggregation.COUNT:
      return bucket.count;
    case MetricAggregation.LAST:
      return bucket.last;
  }
}

/** The latest sample of every series labelled with one of `values` of `label` (`node` or `job`), by value. */
export async function latestMetrics(em: EntityManager, label: 'node' | 'job', values: readonly string[]): Promise<Map<string, LatestMetric[]>> {
  const result = new Map<string, LatestMetric[]>(values.map((value) => [value, []]));
  const series = await em.find(StoredSeries, { where: { [label]: In([...values]) } });
  for (let offset = 0; offset < series.length; offset += CHUNK) {
    const chunk = series.slice(offset, offset + CHUNK);
    const ids = chunk.map((s) => s.id);
    const latest = new Map<string, { at: number; value: number }>();
    for (const row of await latestSamples(em, MetricSample, ids)) latest.set(row.seriesId, row);
    const onlyRolledUp = ids.filter((id) => !latest.has(id));
    if (onlyRolledUp.length > 0) for (const row of await latestSamples(em, MetricRollup, onlyRolledUp)) latest.set(row.seriesId, row);
    for (const s of chunk) {
      const sample = latest.get(s.id);
      const key = s[label];
      if (!sample || key === null) continue;
      result.get(key)?.push(Object.assign(new LatestMetric(), { name: s.name, labels: toLabels(s.labels), value: sample.value, at: new Date(sample.at) }));
    }
  }
  for (const metrics of result.values()) metrics.sort((a, b) => a.name.localeCompare(b.name) || JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));
  return result;
}

async function latestSamples(
  em: EntityManager,
  table: typeof MetricSample | typeof MetricRollup,
  seriesIds: readonly string[],
): Promise<{ seriesId: string; at: number; value: number }[]> {
  const { parameters, bind } = statement(em);
  const samples = tableOf(em, MetricSample);
  const rollups = tableOf(em, MetricRollup);
  const ids = seriesIds.map(bind).join(', ');
  const sql =
    table === MetricSample
      ? `SELECT s."series_id", s."at" AS "at", s."value" AS "value" FROM ${samples} s JOIN
           (SELECT "series_id", MAX("at") AS "at" FROM ${samples} WHERE "series_id" IN (${ids}) GROUP BY "series_id") m
           ON m."series_id" = s."series_id" AND m."at" = s."at"`
      : `SELECT r."series_id", r."last_at" AS "at", r."last" AS "value" FROM ${rollups} r JOIN
           (SELECT "series_id", MAX("minute") AS "minute" FROM ${rollups} WHERE "series_id" IN (${ids}) GROUP BY "series_id") m
           ON m."series_id" = r."series_id" AND m."minute" = r."minute"`;
  const rows: Record<string, string | number>[] = await em.query(sql, parameters);
  return rows.map((row) => ({ seriesId: String(row.series_id), at: Number(row.at), value: Number(row.value) }));
}

/** A series with its raw samples, as alert evaluation reads it. */
export interface RawSeries {
  name: string;
  labels: Record<string, string>;
  points: { at: number; value: number }[];
}

/**
 * The raw samples of every series of `name` with `from` < at <= `to`, in time order. With `includeSilent`, series
 * with no sample in the window but one still among the raw samples come too, with no points: what an alert on a
 * metric's absence needs to see.
 */
export async function rawSeriesInWindow(em: EntityManager, name: string, from: number, to: number, includeSilent: boolean): Promise<RawSeries[]> {
  const series = await em.find(StoredSeries, { where: { name }, take: QUERY_LIMITS.candidates });
  const result: RawSeries[] = [];
  for (let offset = 0; offset < series.length; offset += CHUNK) {
    const chunk = series.slice(offset, offset + CHUNK);
    const { parameters, bind } = statement(em);
    const ids = chunk.map((s) => bind(s.id)).join(', ');
    const rows: Record<string, string | number>[] = await em.query(
      `SELECT "series_id", "at", "value" FROM ${tableOf(em, MetricSample)}
       WHERE "series_id" IN (${ids}) AND "at" > ${bind(from)} AND "at" <= ${bind(to)} ORDER BY "series_id", "at"`,
      parameters,
    );
    const points = new Map<string, { at: number; value: number }[]>();
    for (const row of rows) {
      const id = String(row.series_id);
      let list = points.get(id);
      if (!list) points.set(id, (list = []));
      list.push({ at: Number(row.at), value: Number(row.value) });
    }
    const silent = includeSilent ? chunk.filter((s) => !points.has(s.id)).map((s) => s.id) : [];
    const silentKept = new Set(silent.length > 0 ? (await latestSamples(em, MetricSample, silent)).map((row) => row.seriesId) : []);
    for (const s of chunk) {
      const found = points.get(s.id);
      if (found || silentKept.has(s.id)) result.push({ name: s.name, labels: s.labels, points: found ?? [] });
    }
  }
  return result;
}
