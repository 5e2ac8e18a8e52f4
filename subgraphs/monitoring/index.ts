// The monitoring subgraph: metrics (ingestion, storage with retention and rollups, queries, and the metrics of the
// scheduler's nodes and jobs through federation); alert rules and the alerts their evaluation keeps; notifications
// arrive beside them.
import { AuditEntry } from '../../common/audit/audit-entry.entity';
import { buildFederatedSchema } from '../../common/graphql/subgraph-schema';
import type { SubgraphDefinition } from '../../common/subgraph-server';
import { AlertEvaluation } from './alerts/alert-evaluation';
import { AlertEvent, StoredAlert, StoredAlertRule } from './alerts/alert.entity';
import { AlertResolver, AlertRuleResolver } from './alerts/alert.resolver';
import { createMonitoringContext, type MonitoringContext } from './context';
import { MetricsCompaction } from './metrics/compaction';
import { entityReferences, JobMetricsResolver, ModelVersionMetricsResolver, MonitoredJob, MonitoredModelVersion, MonitoredNode, NodeMetricsResolver } from './metrics/entity-metrics.resolver';
import { MetricRollup, MetricSample, MetricsLease, StoredSeries } from './metrics/metric.entity';
import { MetricResolver } from './metrics/metric.resolver';
import { postgresMigrations, sqliteMigrations } from './migrations';

export const monitoring: SubgraphDefinition<MonitoringContext> = {
  name: 'monitoring',
  entities: [StoredSeries, MetricSample, MetricRollup, MetricsLease, StoredAlertRule, StoredAlert, AlertEvent, AuditEntry],
  migrations: { sqlite: sqliteMigrations, postgres: postgresMigrations },
  buildSchema: () =>
    buildFederatedSchema<MonitoringContext>({
      resolvers: [MetricResolver, NodeMetricsResolver, JobMetricsResolver, ModelVersionMetricsResolver, AlertRuleResolver, AlertResolver],
      // Entities of the scheduler and the registry no query of ours returns: the gateway reaches them through `_entities`.
      orphanedTypes: [MonitoredNode, MonitoredJob, MonitoredModelVersion],
      references: entityReferences,
    }),
  async start({ db, logger, config }) {
    const alertEvaluation = new AlertEvaluation(db, config.monitoring, logger);
    await alertEvaluation.start();
    const compaction = new MetricsCompaction(db, config.monitoring, logger);
    compaction.start();
    return {
      createContext: (base) => createMonitoringContext(base, config.monitoring),
      stop: async () => {
        await Promise.all([compaction.stop(), alertEvaluation.stop()]);
      },
    };
  },
};
