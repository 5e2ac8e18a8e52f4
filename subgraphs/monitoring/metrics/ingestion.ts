// Stores reported samples: each is checked on its own, the good ones are written in bulk, and every refused one is
// named with why, so one bad value does not cost a node its whole report.
import type { EntityManager } from 'typeorm';
import type { MonitoringSettings } from '../../../common/config';
import { atCommit, Database } from '../../../common/db/database';
import { reject, succeed, UserErrorCode, userError, type Outcome } from '../../../common/graphql/types';
import { MetricSample } from './metric.entity';
import { checkRow, checkSample, METRIC_LIMITS, type CheckedSample, type MetricSampleInput, type SampleProblem, type SampleRules } from './metric.inputs';
import { RejectedSample } from './metric.payloads';
import { recordNodeReport } from './node-metrics.subscriptions';
import { resolveSeries, seriesFingerprint } from './series';

/** Who reports: a node agent (its samples carry its own `node` label) or a person or job (model metrics). */
export type Reporter = { kind: 'node'; nodeId: string } | { kind: 'model' };

/** A report's samples, in one of the two forms of ReportMetricsInput. */
export interface SampleReport {
  samples?: readonly MetricSampleInput[] | null;
  rows?: readonly unknown[] | null;
}

export interface ReportResult {
  accepted: number;
  rejected: RejectedSample[];
}

/** Rows per INSERT on SQLite: 3 bound parameters each, well within its limit; full chunks reuse one prepared statement. */
const SQLITE_ROWS_PER_INSERT = 1_000;
/** Series ids kept in memory per database, so that a series reported again is not looked up again. */
const SERIES_CACHE_SIZE = 100_000;

/**
 * Checks and stores the samples of `report`, measured no later than `now` (epoch milliseconds) give or take clock
 * skew, in the transaction `em` belongs to (Database.transaction): all of them or none.
 */
export async function reportSamples(
  em: EntityManager,
  report: SampleReport,
  reporter: Reporter,
  settings: Pick<MonitoringSettings, 'metricsRawRetentionHours'>,
  now = Date.now(),
): Promise<Outcome<ReportResult>> {
  const { samples, rows } = report;
  if (samples && rows) return reject(userError('rows', 'give the samples either as samples or as rows, not both'));
  if (!samples && !rows) return reject(userError('samples', 'give the samples, as samples or as rows', UserErrorCode.REQUIRED));
  const count = samples?.length ?? rows?.length ?? 0;
  if (count > METRIC_LIMITS.samplesPerReport) {
    return reject(
      userError(samples ? 'samples' : 'rows', `must be at most ${METRIC_LIMITS.samplesPerReport} per report (got ${count}): send them in several`, UserErrorCode.TOO_LARGE),
    );
  }
  const rules: SampleRules = {
    now,
    oldest: now - settings.metricsRawRetentionHours * 3_600_000,
    requiredLabels: reporter.kind === 'model' ? ['model', 'version'] : [],
    forcedLabels: reporter.kind === 'node' ? { node: reporter.nodeId } : {},
  };
  const rejected: RejectedSample[] = [];
  const refuse = (index: number, field: string, reason: string) => rejected.push(Object.assign(new RejectedSample(), { index, field, reason }));

  const checked: { index: number; sample: CheckedSample; key: string }[] = [];
  for (let index = 0; index < count; index++) {
    const result: CheckedSample | SampleProblem = samples ? checkSample(samples[index]!, rules) : checkRow(rows![index], rules);
    if ('reason' in result) refuse(index, result.field, result.reason);
    else checked.push({ index, sample: result, key: seriesKey(result) });
  }
  if (checked.length === 0) return succeed({ accepted: 0, rejected });

  const ids = await seriesIds(em, checked);
  const fresh: { index: number; seriesId: string; at: number; value: number }[] = [];
  const seen = new Set<string>();
  for (const { index, sample, key } of checked) {
    const seriesId = ids.get(key)!;
    const once = `${seriesId}@${sample.at}`;
    if (seen.has(once)) refuse(index, 'at', 'repeats an earlier sample of this report: one sample per series and time');
    else {
      seen.add(once);
      fresh.push({ index, seriesId, at: sample.at, value: sample.value });
    }
  }
  const alreadyStored = await insertSamples(em, fresh);
  for (const sample of alreadyStored) refuse(sample.index, 'at', 'this series already has a sample at this time');
  if (reporter.kind === 'node') {
    // For nodeMetricsUpdated: the report's stored samples, appended to the node metrics stream in this transaction.
    const notStored = new Set([...alreadyStored.map((sample) => sample.index), ...rejected.map((sample) => sample.index)]);
    const stored = checked.filter(({ index }) => !notStored.has(index)).map(({ sample }) => ({ name: sample.name, labels: sample.labels, at: sample.at, value: sample.value }));
    recordNodeReport(em, reporter.nodeId, stored);
  }
  rejected.sort((a, b) => a.index - b.index);
  return succeed({ accepted: fresh.length - alreadyStored.length, rejected });
}

/**
 * A series' identity as one string: its name and sorted labels. Unambiguous because names and label keys hold
 * neither `=` nor line breaks, and label values hold no control characters.
 */
function seriesKey(sample: CheckedSample): string {
  let key = sample.name;
  for (const label in sample.labels) key += `\n${label}=${sample.labels[label]}`;
  return key;
}

// ---------------------------------------------------------------------------------------------------------------
// Series ids, remembered per database. Series rows are never deleted (only their samples and rollups expire), so an
// id once committed stays right; ids are remembered only once the transaction that found or created them commits.

const seriesCaches = new WeakMap<Database, Map<string, string>>();
const pendingSeries = new WeakMap<EntityManager, Map<string, string>>();

async function seriesIds(em: EntityManager, checked: readonly { sample: CheckedSample; key: string }[]): Promise<Map<string, string>> {
  const db = Database.of(em);
  let cache = seriesCaches.get(db);
  if (!cache) seriesCaches.set(db, (cache = new Map()));
  const ids = new Map<string, string>();
  const missing = new Map<string, { key: string; sample: CheckedSample }>();
  for (const { sample, key } of checked) {
    if (ids.has(key)) continue;
    const id = cache.get(key);
    if (id !== undefined) ids.set(key, id);
    else if (!missing.has(key)) missing.set(key, { key, sample });
  }
  if (missing.size === 0) return ids;

  const wanted = new Map<string, { name: string; labels: Record<string, string> }>();
  const keyOf = new Map<string, string>();
  for (const { key, sample } of missing.values()) {
    const fingerprint = seriesFingerprint(sample.name, sample.labels);
    wanted.set(fingerprint, { name: sample.name, labels: sample.labels });
    keyOf.set(fingerprint, key);
  }
  const resolved = await resolveSeries(em, wanted);
  let pending = pendingSeries.get(em);
  if (!pending) {
    const remembered = (pending = new Map());
    pendingSeries.set(em, remembered);
    const known = cache;
    atCommit(em, 'metric-series-ids', async () => undefined, () => {
      for (const [key, id] of remembered) {
        known.set(key, id);
        if (known.size > SERIES_CACHE_SIZE) known.delete(known.keys().next().value!);
      }
    });
  }
  for (const [fingerprint, id] of resolved) {
    const key = keyOf.get(fingerprint)!;
    ids.set(key, id);
    pending.set(key, id);
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing: one statement inserts the samples and skips those a series already has at that time, which it names.

interface FreshSample {
  index: number;
  seriesId: string;
  at: number;
  value: number;
}

/** Inserts `samples` (no two of one series and time); returns those the database already held. */
async function insertSamples(em: EntityManager, samples: readonly FreshSample[]): Promise<FreshSample[]> {
  if (samples.length === 0) return [];
  const { driver } = em.connection;
  const metadata = em.connection.getMetadata(MetricSample);
  const table = metadata.tablePath.split('.').map((part) => driver.escape(part)).join('.');
  const [seriesId, at, value] = (['seriesId', 'at', 'value'] as const).map((property) => driver.escape(metadata.findColumnWithPropertyName(property)!.databaseName)) as [
    string,
    string,
    string,
  ];
  const stored = new Set<string>();
  if (driver.options.type === 'postgres') {
    // The samples as three arrays; the answer lists those the insert skipped (usually none).
    const found = (await em.query(
      `WITH given AS (SELECT * FROM unnest($1::varchar[], $2::bigint[], $3::double precision[]) AS given(series_id, at, value)), ` +
        `inserted AS (INSERT INTO ${table} (${seriesId}, ${at}, ${value}) SELECT series_id, at, value FROM given ON CONFLICT DO NOTHING RETURNING ${seriesId} AS series_id, ${at} AS at) ` +
        'SELECT given.series_id, given.at FROM given LEFT JOIN inserted USING (series_id, at) WHERE inserted.series_id IS NULL',
      [samples.map((sample) => sample.seriesId), samples.map((sample) => sample.at), samples.map((sample) => sample.value)],
    )) as { series_id: string; at: string | number }[];
    for (const row of found) stored.add(`${row.series_id}@${Number(row.at)}`);
  } else {
    for (let offset = 0; offset < samples.length; offset += SQLITE_ROWS_PER_INSERT) {
      const chunk = samples.slice(offset, offset + SQLITE_ROWS_PER_INSERT);
      const parameters = new Array<unknown>(chunk.length * 3);
      chunk.forEach((sample, i) => {
        parameters[3 * i] = sample.seriesId;
        parameters[3 * i + 1] = sample.at;
        parameters[3 * i + 2] = sample.value;
      });
      const inserted = (await em.query(
        `INSERT INTO ${table} (${seriesId}, ${at}, ${value}) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING RETURNING ${seriesId} AS series_id, ${at} AS at`,
        parameters,
      )) as { series_id: string; at: number }[];
      if (inserted.length === chunk.length) continue;
      const insertedKeys = new Set(inserted.map((row) => `${row.series_id}@${row.at}`));
      for (const sample of chunk) if (!insertedKeys.has(`${sample.seriesId}@${sample.at}`)) stored.add(`${sample.seriesId}@${sample.at}`);
    }
  }
  return stored.size === 0 ? [] : samples.filter((sample) => stored.has(`${sample.seriesId}@${sample.at}`));
}
