// What the monitoring's resolvers receive with each request.
import DataLoader from 'dataloader';
import type { EntityManager } from 'typeorm';
import type { MonitoringSettings, SubscriptionSettings } from '../../common/config';
import type { StreamTail } from '../../common/events/stream-tail';
import { alertingLoaders } from './alerts/alert-loaders';
import type { AlertEvent } from './alerts/alert.entity';
import type { AlertUpdate } from './alerts/alert.subscriptions';
import type { NodeMetricsEvent } from './metrics/node-metrics-event.entity';
import type { NodeMetricsUpdate } from './metrics/node-metrics.subscriptions';
import type { ServiceContext } from '../../common/graphql/context';
import type { LatestMetric, MetricSeries } from './metrics/metric.types';
import { latestMetrics, recentSamples, type SeriesOwner } from './metrics/query';

export interface MonitoringContext extends ServiceContext {
  settings: Readonly<MonitoringSettings>;
  loaders: MonitoringLoaders;
  /** The alerts stream, for subscriptions. */
  alertUpdates: StreamTail<AlertEvent, AlertUpdate>;
  /** The node metrics stream, for subscriptions. */
  nodeMetricsUpdates: StreamTail<NodeMetricsEvent, NodeMetricsUpdate>;
  subscriptionSettings: Readonly<SubscriptionSettings>;
}

export type MonitoringLoaders = ReturnType<typeof createLoaders>;

/** A history asked for: whose (a node's or job's id, or a model version's `modelVersionKey`), which metric, how many samples. */
export interface HistoryKey {
  owner: string;
  name: string;
  last: number;
}

/**
 * Per request: the latest metrics of every node, job or model version a query reaches, in one read per kind; and
 * their recent samples, in one read per kind and metric asked for.
 */
export function createLoaders(em: EntityManager) {
  const latestOf = (owner: SeriesOwner) =>
    new DataLoader(async (keys: readonly string[]): Promise<LatestMetric[][]> => {
      const byKey = await latestMetrics(em, owner, keys);
      return keys.map((key) => byKey.get(key) ?? []);
    });
  const historyOf = (owner: SeriesOwner) =>
    new DataLoader<HistoryKey, MetricSeries[], string>(
      async (wanted) => {
        const byQuestion = new Map<string, Map<string, MetricSeries[]>>();
        for (const { name, last } of wanted) {
          const question = JSON.stringify([name, last]);
          if (byQuestion.has(question)) continue;
          const owners = [...new Set(wanted.filter((key) => key.name === name && key.last === last).map((key) => key.owner))];
          byQuestion.set(question, await recentSamples(em, owner, owners, name, last));
        }
        return wanted.map((key) => byQuestion.get(JSON.stringify([key.name, key.last]))?.get(key.owner) ?? []);
      },
      { cacheKeyFn: (key) => JSON.stringify([key.owner, key.name, key.last]) },
    );
  return {
    ...alertingLoaders(em),
    latestOfNode: latestOf('node'),
    latestOfJob: latestOf('job'),
    latestOfModelVersion: latestOf('modelVersion'),
    historyOfNode: historyOf('node'),
    historyOfJob: historyOf('job'),
    historyOfModelVersion: historyOf('modelVersion'),
  };
}

export function createMonitoringContext(
  base: ServiceContext,
  shared: Pick<MonitoringContext, 'settings' | 'alertUpdates' | 'nodeMetricsUpdates' | 'subscriptionSettings'>,
): MonitoringContext {
  const context: MonitoringContext = {
    ...base,
    ...shared,
    loaders: createLoaders(base.db.manager),
    clearCaches: () => {
      for (const loader of Object.values(context.loaders)) loader.clearAll();
    },
    afterCommit: () => context.clearCaches?.(),
  };
  return context;
}
