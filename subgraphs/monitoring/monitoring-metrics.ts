// The monitoring's Prometheus metrics: the latest node and GPU samples agents pushed, under their own conventional
// names (`node_cpu_utilization{node}`, `gpu_temperature_celsius{node,gpu}`), so a team that runs Prometheus and
// Grafana scrapes them from here; alerts by state and severity and notifications by status, read from the database
// at each scrape (every instance shows the same figures); and this instance's delivery attempts.
import type { Counter } from 'prom-client';
import type { Database } from '../../common/db/database';
import { sharedWhileRunning, type ServiceMetrics } from '../../common/metrics/service-metrics';
import { StoredAlert } from './alerts/alert.entity';
import { MetricSample, StoredSeries } from './metrics/metric.entity';
import { statement, tableOf } from './metrics/sql';
import { NotificationDelivery } from './notifications/notification.entity';

/** What node agents push (agent/node-metrics.ts), with Prometheus' help text. */
const NODE_METRICS: Record<string, string> = {
  node_up: 'Whether the node\'s agent reported (1) in the last 5 minutes.',
  node_cpu_utilization: 'Share of the node\'s CPU time in use (0-1).',
  node_memory_available_bytes: 'Memory available to new work.',
  node_memory_used_bytes: 'Memory in use.',
  node_memory_available_ratio: 'Share of memory available (0-1).',
  node_disk_available_bytes: 'Disk space available on the agent\'s data disk.',
  node_disk_used_bytes: 'Disk space used on the agent\'s data disk.',
  gpu_utilization: 'Share of the GPU\'s time busy (0-1).',
  gpu_memory_used_bytes: 'GPU memory in use.',
  gpu_temperature_celsius: 'GPU temperature.',
  gpu_power_watts: 'GPU power draw.',
};

/** A series whose latest sample is older than this is left out, as Prometheus treats a target gone stale. */
const STALE_AFTER_MS = 5 * 60_000;

export interface MonitoringObserver {
  /** A delivery attempt ended: `delivered`, `retrying` or `failed`. */
  attempted(outcome: 'delivered' | 'retrying' | 'failed'): void;
}

export function monitoringMetrics(db: Database, metrics: ServiceMetrics): MonitoringObserver {
  // One read for all the node gauges of a scrape.
  const latestNodeSamples = sharedWhileRunning(() => readLatestNodeSamples(db));
  for (const [name, help] of Object.entries(NODE_METRICS)) {
    metrics.gaugeFromReadings({
      name,
      help,
      labelNames: ['node', 'gpu'],
      read: async () => ((await latestNodeSamples()).get(name) ?? []).map(({ labels, value }) => ({ labels, value })),
    });
  }
  metrics.gaugeFromReadings({
    name: 'touchline_alerts',
    help: 'Alerts kept, by state and severity.',
    labelNames: ['state', 'severity'],
    read: async () => {
      const rows = await db.manager
        .createQueryBuilder(StoredAlert, 'alert')
        .select('alert.state', 'state')
        .addSelect('alert.severity', 'severity')
        .addSelect('COUNT(*)', 'count')
        .groupBy('alert.state')
        .addGroupBy('alert.severity')
        .getRawMany<{ state: string; severity: string; count: string | number }>();
      return rows.map((row) => ({ labels: { state: row.state, severity: row.severity }, value: Number(row.count) }));
    },
  });
  metrics.gaugeFromReadings({
    name: 'touchline_notification_deliveries',
    help: 'Notifications kept, by status (PENDING ones are waiting for an attempt).',
    labelNames: ['status'],
    read: async () => {
      const rows = await db.manager
        .createQueryBuilder(NotificationDelivery, 'delivery')
        .select('delivery.status', 'status')
        .addSelect('COUNT(*)', 'count')
        .groupBy('delivery.status')
        .getRawMany<{ status: string; count: string | number }>();
      return rows.map((row) => ({ labels: { status: row.status }, value: Number(row.count) }));
    },
  });
  const attempts: Counter<'outcome'> = metrics.counter('touchline_notification_attempts_total', 'Webhook delivery attempts made by this instance, by outcome.', ['outcome']);
  return { attempted: (outcome) => attempts.inc({ outcome }) };
}

/** The latest sample of each node and GPU series reported in the last 5 minutes, by metric name. */
async function readLatestNodeSamples(db: Database): Promise<Map<string, { labels: Record<string, string>; value: number }[]>> {
  const em = db.manager;
  const { parameters, bind } = statement(em);
  const samples = tableOf(em, MetricSample);
  const series = tableOf(em, StoredSeries);
  // Bound in the order they appear: SQLite's placeholders are positional.
  const since = bind(Date.now() - STALE_AFTER_MS);
  const names = Object.keys(NODE_METRICS).map(bind).join(', ');
  const rows: { name: string; labels: string; value: number | string }[] = await em.query(
    `SELECT ser."name" AS "name", ser."labels" AS "labels", s."value" AS "value"
       FROM ${series} ser
       JOIN (SELECT "series_id", MAX("at") AS "at" FROM ${samples}
              WHERE "at" >= ${since} AND "series_id" IN (SELECT "id" FROM ${series} WHERE "name" IN (${names}))
              GROUP BY "series_id") m ON m."series_id" = ser."id"
       JOIN ${samples} s ON s."series_id" = m."series_id" AND s."at" = m."at"`,
    parameters,
  );
  const byName = new Map<string, { labels: Record<string, string>; value: number }[]>();
  for (const row of rows) {
    const all = JSON.parse(row.labels) as Record<string, string>;
    // Only the labels agents give; a person's extra label would not fit the gauge's label names.
    const labels: Record<string, string> = {};
    if (all.node !== undefined) labels.node = all.node;
    if (all.gpu !== undefined) labels.gpu = all.gpu;
    const list = byName.get(row.name) ?? [];
    list.push({ labels, value: Number(row.value) });
    byName.set(row.name, list);
  }
  return byName;
}
