// What the monitoring's resolvers receive with each request.
import DataLoader from 'dataloader';
import type { EntityManager } from 'typeorm';
import type { MonitoringSettings } from '../../common/config';
import type { ServiceContext } from '../../common/graphql/context';
import type { LatestMetric } from './metrics/metric.types';
import { latestMetrics } from './metrics/query';

export interface MonitoringContext extends ServiceContext {
  settings: Readonly<MonitoringSettings>;
  loaders: MonitoringLoaders;
}

export type MonitoringLoaders = ReturnType<typeof createLoaders>;

/** Per request: the latest metrics of every node (or job) a query reaches, in one read. */
export function createLoaders(em: EntityManager) {
  const latestBy = (label: 'node' | 'job') =>
    new DataLoader(async (ids: readonly string[]): Promise<LatestMetric[][]> => {
      const byId = await latestMetrics(em, label, ids);
      return ids.map((id) => byId.get(id) ?? []);
    });
  return { latestOfNode: latestBy('node'), latestOfJob: latestBy('job') };
}

export function createMonitoringContext(base: ServiceContext, settings: Readonly<MonitoringSettings>): MonitoringContext {
  const context: MonitoringContext = {
    ...base,
    settings,
    loaders: createLoaders(base.db.manager),
    clearCaches: () => {
      for (const loader of Object.values(context.loaders)) loader.clearAll();
    },
    afterCommit: () => context.clearCaches?.(),
  };
  return context;
}
