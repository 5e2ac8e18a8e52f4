// The monitoring subgraph: metrics (ingestion, storage with retention and rollups, queries, and the metrics of the
// scheduler's nodes and jobs through federation); alert rules, alerts and notifications arrive beside them.
import { AuditEntry } from '../../common/audit/audit-entry.entity';
import { buildFederatedSchema } from '../../common/graphql/subgraph-schema';
import type { SubgraphDefinition } from '../../common/subgraph-server';
import { createMonitoringContext, type MonitoringContext } from './context';
import { MetricsCompaction } from './metrics/compaction';
import { entityReferences, JobMetricsResolver, MonitoredJob, MonitoredNode, NodeMetricsResolver } from './metrics/entity-metrics.resolver';
import { MetricRollup, MetricSample, MetricsLease, StoredSeries } from './metrics/metric.entity';
import { MetricResolver } from './metrics/metric.resolver';
import { postgresMigrations, sqliteMigrations } from './migrations';

export const monitoring: SubgraphDefinition<MonitoringContext> = {
  name: 'monitoring',
  entities: [StoredSeries, MetricSample, MetricRollup, MetricsLease, AuditEntry],
  migrations: { sqlite: sqliteMigrations, postgres: postgresMigrations },
  buildSchema: () =>
    buildFederatedSchema<MonitoringContext>({
      resolvers: [MetricResolver, NodeMetricsResolver, JobMetricsResolver],
      // Entities of the scheduler no query of ours returns: the gateway reaches them through `_entities`.
      orphanedTypes: [MonitoredNode, MonitoredJob],
      references: entityReferences,
    }),
  async start({ db, logger, config }) {
    const compaction = new MetricsCompaction(db, config.monitoring, logger);
    compaction.start();
    return {
      createContext: (base) => createMonitoringContext(base, config.monitoring),
      stop: () => compaction.stop(),
    };
  },
};
