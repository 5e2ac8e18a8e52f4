// Reads series back: the series of a name that match the label matchers, their samples aggregated per step, from
// raw samples where they are still kept and from per-minute rollups beyond.
import { In, type EntityManager, type FindOptionsWhere } from 'typeorm';
import { BadInputError } from '../../../common/graphql/errors';
import { MetricRollup, MetricSample, StoredSeries } from './metric.entity';
import { LabelMatch, LatestMetric, MetricAggregation, MetricLabel, MetricPoint, MetricSeries, toLabels } from './metric.types';
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

/**
 * Whose series another subgraph's entity has: a node's or a job's (their label has a column of its own), or a model
 * version's (its `model` and `version` labels, keyed by `modelVersionKey`).
 */
export type SeriesOwner = 'node' | 'job' | 'modelVersion';

/** A model version's key among series owners: its model's name and its version string, the labels it reports with. */
export function modelVersionKey(model: string, version: string): string {
  return JSON.stringify([model, version]);
}

/** Model versions whose series one statement looks for (one LIKE each). */
const MODEL_VERSIONS_PER_READ = 100;
/** Series whose latest samples one statement reads for a history (one indexed subquery each). */
const HISTORIES_PER_READ = 100;
/** Most samples a history may ask for, per series. */
export const HISTORY_LIMIT = 100;

type SeriesRow = Pick<StoredSeries, 'id' | 'name' | 'labels'>;

/** The series of each owner (by key), only those named `name` if given. */
async function seriesOfOwners(em: EntityManager, owner: SeriesOwner, keys: readonly string[], name?: string): Promise<Map<string, SeriesRow[]>> {
  const result = new Map<string, SeriesRow[]>(keys.map((key) => [key, []]));
  for (let offset = 0; offset < keys.length; offset += owner === 'modelVersion' ? MODEL_VERSIONS_PER_READ : CHUNK) {
    if (owner === 'modelVersion') {
      const chunk = keys.slice(offset, offset + MODEL_VERSIONS_PER_READ);
      for (const series of await modelVersionSeries(em, chunk, name)) result.get(modelVersionKey(series.labels.model!, series.labels.version!))?.push(series);
    } else {
      const where: FindOptionsWhere<StoredSeries> = { [owner]: In(keys.slice(offset, offset + CHUNK)) };
      if (name !== undefined) where.name = name;
      for (const series of await em.find(StoredSeries, { where })) if (series[owner] !== null) result.get(series[owner])?.push(series);
    }
  }
  return result;
}

/**
 * The series labelled with one of these model versions. `model` and `version` have no column of their own: the
 * stored label text (JSON sorted by key, so `model` before `version`) narrows the search with LIKE, and the labels
 * themselves decide.
 */
async function modelVersionSeries(em: EntityManager, keys: readonly string[], name?: string): Promise<SeriesRow[]> {
  const versions = keys.map((key) => JSON.parse(key) as [string, string]);
  const { parameters, bind } = statement(em);
  const byName = name === undefined ? '' : `"name" = ${bind(name)} AND `;
  const patterns = versions.map(([model, version]) => `"labels" LIKE ${bind(labelTextPattern(model, version))} ESCAPE '\\'`);
  const rows: { id: string; name: string; labels: string }[] = await em.query(
    `SELECT "id", "name", "labels" FROM ${tableOf(em, StoredSeries)} WHERE ${byName}(${patterns.join(' OR ')})`,
    parameters,
  );
  const wanted = new Set(keys);
  return rows
    .map((row) => ({ id: String(row.id), name: row.name, labels: JSON.parse(row.labels) as Record<string, string> }))
    .filter(({ labels }) => labels.model !== undefined && labels.version !== undefined && wanted.has(modelVersionKey(labels.model, labels.version)));
}

function labelTextPattern(model: string, version: string): string {
  const escape = (text: string) => text.replace(/[\\%_]/g, (character) => `\\${character}`);
  return `%${escape(`"model":${JSON.stringify(model)}`)}%${escape(`"version":${JSON.stringify(version)}`)}%`;
}

const byNameThenLabels = (a: { name: string; labels: MetricLabel[] }, b: { name: string; labels: MetricLabel[] }) =>
  a.name.localeCompare(b.name) || JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels));

/** The latest sample of every series of each owner (by key), by name then labels. */
export async function latestMetrics(em: EntityManager, owner: SeriesOwner, keys: readonly string[]): Promise<Map<string, LatestMetric[]>> {
  const seriesByOwner = await seriesOfOwners(em, owner, keys);
  const latest = await latestOfSeries(em, [...seriesByOwner.values()].flat().map((s) => s.id));
  const result = new Map<string, LatestMetric[]>();
  for (const [key, series] of seriesByOwner) {
    const metrics = series.flatMap((s) => {
      const sample = latest.get(s.id);
      return sample ? [Object.assign(new LatestMetric(), { name: s.name, labels: toLabels(s.labels), value: sample.value, at: new Date(sample.at) })] : [];
    });
    result.set(key, metrics.sort(byNameThenLabels));
  }
  return result;
}

/** The latest sample of each series: its latest raw sample, or the last value of its latest rollup. */
async function latestOfSeries(em: EntityManager, seriesIds: readonly string[]): Promise<Map<string, { at: number; value: number }>> {
  const latest = new Map<string, { at: number; value: number }>();
  for (let offset = 0; offset < seriesIds.length; offset += CHUNK) {
    const ids = seriesIds.slice(offset, offset + CHUNK);
    for (const row of await latestSamples(em, MetricSample, ids)) latest.set(row.seriesId, row);
    const onlyRolledUp = ids.filter((id) => !latest.has(id));
    if (onlyRolledUp.length > 0) for (const row of await latestSamples(em, MetricRollup, onlyRolledUp)) latest.set(row.seriesId, row);
  }
  return latest;
}

/**
 * Each owner's series of `name` (by key), each with its `last` latest raw samples, oldest first; a series whose
 * samples are all past the raw retention has no points.
 */
export async function recentSamples(
  em: EntityManager,
  owner: SeriesOwner,
  keys: readonly string[],
  name: string,
  last: number,
): Promise<Map<string, MetricSeries[]>> {
  const seriesByOwner = await seriesOfOwners(em, owner, keys, name);
  const all = [...seriesByOwner.values()].flat();
  const points = new Map<string, MetricPoint[]>(all.map((s) => [s.id, []]));
  const samples = tableOf(em, MetricSample);
  for (let offset = 0; offset < all.length; offset += HISTORIES_PER_READ) {
    const { parameters, bind } = statement(em);
    // One backward walk of the (series, time) key per series, each stopping after `last` rows.
    const perSeries = all
      .slice(offset, offset + HISTORIES_PER_READ)
      .map((s, i) => `SELECT * FROM (SELECT "series_id", "at", "value" FROM ${samples} WHERE "series_id" = ${bind(s.id)} ORDER BY "at" DESC LIMIT ${bind(last)}) AS "h${i}"`);
    const rows: Record<string, string | number>[] = await em.query(perSeries.join(' UNION ALL '), parameters);
    for (const row of rows) points.get(String(row.series_id))?.push(Object.assign(new MetricPoint(), { at: new Date(Number(row.at)), value: Number(row.value) }));
  }
  const result = new Map<string, MetricSeries[]>();
  for (const [key, series] of seriesByOwner) {
    const histories = series.map((s) =>
      Object.assign(new MetricSeries(), { name: s.name, labels: toLabels(s.labels), points: points.get(s.id)!.sort((a, b) => a.at.getTime() - b.at.getTime()) }),
    );
    result.set(key, histories.sort(byNameThenLabels));
  }
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

/** The raw samples of every series of the metric `name` with `from` < at <= `to`, in time order, by series id. */
export async function rawSamplesOfMetric(em: EntityManager, name: string, from: number, to: number): Promise<Map<string, { at: number; value: number }[]>> {
  const { parameters, bind } = statement(em);
  const rows: Record<string, string | number>[] = await em.query(
    `SELECT s."series_id", s."at", s."value" FROM ${tableOf(em, MetricSample)} s JOIN ${tableOf(em, StoredSeries)} ser ON ser."id" = s."series_id"
     WHERE ser."name" = ${bind(name)} AND s."at" > ${bind(from)} AND s."at" <= ${bind(to)} ORDER BY s."series_id", s."at"`,
    parameters,
  );
  const points = new Map<string, { at: number; value: number }[]>();
  for (const row of rows) {
    const id = String(row.series_id);
    let list = points.get(id);
    if (!list) points.set(id, (list = []));
    list.push({ at: Number(row.at), value: Number(row.value) });
  }
  return points;
}

/** Which of `seriesIds` still have a raw sample (their samples are not all past the raw retention). */
export async function seriesWithRawSamples(em: EntityManager, seriesIds: readonly string[]): Promise<Set<string>> {
  const kept = new Set<string>();
  for (let offset = 0; offset < seriesIds.length; offset += CHUNK) {
    for (const row of await latestSamples(em, MetricSample, seriesIds.slice(offset, offset + CHUNK))) kept.add(row.seriesId);
  }
  return kept;
}
