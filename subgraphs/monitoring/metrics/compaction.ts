// Keeps metric storage bounded: raw samples older than the raw retention become per-minute rollups (min, max, sum,
// count, last), and rollups older than their retention are deleted; in batches of bounded size, each its own
// transaction. One monitoring instance at a time compacts (a lease in the database).
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { MonitoringSettings } from '../../../common/config';
import type { Database } from '../../../common/db/database';
import { Lease, LeasedLoop } from '../../../common/db/lease';
import type { Logger } from '../../../common/logger';
import { MetricRollup, MetricSample, MetricsLease } from './metric.entity';
import { statement, tableOf } from './sql';

import { pruneNodeReports } from './node-metrics.subscriptions';

const LEASE_NAME = 'compaction';
/** Raw samples per batch: read, rolled up and deleted in one transaction. */
const BATCH_ROWS = 20_000;
/** Batches per round, so that a long backlog does not hold the database; the next round continues. */
const MAX_BATCHES = 50;
const MINUTE = 60_000;

export interface CompactionResult {
  /** Raw samples rolled up and deleted. */
  rolledUp: number;
  /** Rollups deleted as older than their retention. */
  expired: number;
}

type Retention = Pick<MonitoringSettings, 'metricsRawRetentionHours' | 'metricsRollupRetentionDays'>;

/** One round of compaction as of `now` (epoch milliseconds). */
export async function compactMetrics(db: Database, settings: Retention, now = Date.now()): Promise<CompactionResult> {
  const rawCutoff = now - settings.metricsRawRetentionHours * 3_600_000;
  const rollupCutoff = now - settings.metricsRollupRetentionDays * 86_400_000;
  const result: CompactionResult = { rolledUp: 0, expired: 0 };
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const rolled = await db.transaction((em) => rollUpBatch(em, rawCutoff));
    result.rolledUp += rolled;
    if (rolled === 0) break;
  }
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const expired = await db.transaction((em) => expireBatch(em, rollupCutoff));
    result.expired += expired;
    if (expired === 0) break;
  }
  return result;
}

/** The time below which at most about `rows` rows of `table` lie (all of them when fewer are older than `cutoff`). */
async function batchBoundary(em: EntityManager, table: string, column: string, cutoff: number, rows: number): Promise<number> {
  const { parameters, bind } = statement(em);
  const found: Record<string, string | number>[] = await em.query(
    `SELECT "${column}" AS "at" FROM ${table} WHERE "${column}" < ${bind(cutoff)} ORDER BY "${column}" LIMIT 1 OFFSET ${rows - 1}`,
    parameters,
  );
  if (found.length === 0) return cutoff;
  const at = Number(found[0]!.at);
  // Rows all at one time: take that time too, so a batch always moves forward.
  const below = statement(em);
  const older: unknown[] = await em.query(`SELECT 1 AS "one" FROM ${table} WHERE "${column}" < ${below.bind(at)} LIMIT 1`, below.parameters);
  return older.length > 0 ? at : at + 1;
}

async function rollUpBatch(em: EntityManager, cutoff: number): Promise<number> {
  const boundary = await batchBoundary(em, tableOf(em, MetricSample), 'at', cutoff, BATCH_ROWS);
  const select = statement(em);
  const samples: Record<string, string | number>[] = await em.query(
    `SELECT "series_id", "at", "value" FROM ${tableOf(em, MetricSample)} WHERE "at" < ${select.bind(boundary)} ORDER BY "series_id", "at"`,
    select.parameters,
  );
  if (samples.length === 0) return 0;

  const rollups = new Map<string, { seriesId: string; minute: number; min: number; max: number; sum: number; count: number; last: number; lastAt: number }>();
  for (const sample of samples) {
    const seriesId = String(sample.series_id);
    const at = Number(sample.at);
    const value = Number(sample.value);
    const minute = Math.floor(at / MINUTE) * MINUTE;
    const key = `${seriesId}@${minute}`;
    const rollup = rollups.get(key);
    if (!rollup) {
      rollups.set(key, { seriesId, minute, min: value, max: value, sum: value, count: 1, last: value, lastAt: at });
      continue;
    }
    rollup.min = Math.min(rollup.min, value);
    rollup.max = Math.max(rollup.max, value);
    rollup.sum += value;
    rollup.count += 1;
    if (at >= rollup.lastAt) Object.assign(rollup, { last: value, lastAt: at });
  }
  await upsertRollups(em, [...rollups.values()]);

  const remove = statement(em);
  await em.query(`DELETE FROM ${tableOf(em, MetricSample)} WHERE "at" < ${remove.bind(boundary)}`, remove.parameters);
  return samples.length;
}

const ROLLUP_COLUMNS = ['series_id', 'minute', 'min', 'max', 'sum', 'count', 'last', 'last_at'];
const ROLLUPS_PER_STATEMENT = Math.floor(30_000 / ROLLUP_COLUMNS.length);

/** Adds rollups, merged into those already stored for the same series and minute (late samples of a minute). */
async function upsertRollups(em: EntityManager, rollups: readonly { seriesId: string; minute: number; min: number; max: number; sum: number; count: number; last: number; lastAt: number }[]): Promise<void> {
  const newer = `"excluded"."last_at" >= "metric_rollup"."last_at"`;
  const merge = [
    `"min" = CASE WHEN "excluded"."min" < "metric_rollup"."min" THEN "excluded"."min" ELSE "metric_rollup"."min" END`,
    `"max" = CASE WHEN "excluded"."max" > "metric_rollup"."max" THEN "excluded"."max" ELSE "metric_rollup"."max" END`,
    `"sum" = "metric_rollup"."sum" + "excluded"."sum"`,
    `"count" = "metric_rollup"."count" + "excluded"."count"`,
    `"last" = CASE WHEN ${newer} THEN "excluded"."last" ELSE "metric_rollup"."last" END`,
    `"last_at" = CASE WHEN ${newer} THEN "excluded"."last_at" ELSE "metric_rollup"."last_at" END`,
  ].join(', ');
  for (let offset = 0; offset < rollups.length; offset += ROLLUPS_PER_STATEMENT) {
    const { parameters, bind } = statement(em);
    const tuples = rollups
      .slice(offset, offset + ROLLUPS_PER_STATEMENT)
      .map((r) => `(${[r.seriesId, r.minute, r.min, r.max, r.sum, r.count, r.last, r.lastAt].map(bind).join(', ')})`);
    await em.query(
      `INSERT INTO ${tableOf(em, MetricRollup)} (${ROLLUP_COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES ${tuples.join(', ')}
       ON CONFLICT ("series_id", "minute") DO UPDATE SET ${merge}`,
      parameters,
    );
  }
}

async function expireBatch(em: EntityManager, cutoff: number): Promise<number> {
  const boundary = await batchBoundary(em, tableOf(em, MetricRollup), 'minute', cutoff, BATCH_ROWS);
  const count = statement(em);
  const [row] = (await em.query(`SELECT COUNT(*) AS "n" FROM ${tableOf(em, MetricRollup)} WHERE "minute" < ${count.bind(boundary)}`, count.parameters)) as { n: string | number }[];
  const expired = Number(row?.n ?? 0);
  if (expired === 0) return 0;
  const remove = statement(em);
  await em.query(`DELETE FROM ${tableOf(em, MetricRollup)} WHERE "minute" < ${remove.bind(boundary)}`, remove.parameters);
  return expired;
}

/**
 * Runs compaction every interval on the instance holding the lease, and deletes the node metrics stream's events
 * past the subscriptions' replay window.
 */
export class MetricsCompaction {
  private readonly loop: LeasedLoop;

  constructor(db: Database, settings: Readonly<MonitoringSettings>, replayWindow: number, logger: Logger) {
    this.loop = new LeasedLoop(
      new Lease(db, MetricsLease, LEASE_NAME, randomUUID()),
      settings.metricsCompactionIntervalSeconds * 1000,
      async () => {
        const result = await compactMetrics(db, settings);
        if (result.rolledUp > 0 || result.expired > 0) logger.info(result, 'compacted metrics');
        await db.transaction((em) => pruneNodeReports(em, replayWindow));
      },
      (error) => logger.error({ err: error }, 'metric compaction failed; retrying at the next interval'),
    );
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
