// The monitoring subgraph: metrics (ingestion, storage with retention and rollups, queries, and the metrics of the
// scheduler's nodes, jobs and model versions through federation); alert rules, the alerts their evaluation keeps, with
// their history, acknowledgements and silences; and the webhooks told of them.
import { AuditEntry } from '../../common/audit/audit-entry.entity';
import { StreamHead } from '../../common/events/stream';
import { buildFederatedSchema } from '../../common/graphql/subgraph-schema';
import type { SubgraphDefinition } from '../../common/subgraph-server';
import { AlertEvaluation } from './alerts/alert-evaluation';
import { AlertEvent, StoredAlert, StoredAlertRule } from './alerts/alert.entity';
import { AlertHistoryResolver, AlertResolver, AlertRuleResolver } from './alerts/alert.resolver';
import { AlertSubscriptionResolver, alertUpdatesTail } from './alerts/alert.subscriptions';
import { createMonitoringContext, type MonitoringContext } from './context';
import { MetricsCompaction } from './metrics/compaction';
import { entityReferences, JobMetricsResolver, ModelVersionMetricsResolver, MonitoredJob, MonitoredModelVersion, MonitoredNode, NodeMetricsResolver } from './metrics/entity-metrics.resolver';
import { MetricRollup, MetricSample, MetricsLease, StoredSeries } from './metrics/metric.entity';
import { MetricResolver } from './metrics/metric.resolver';
import { NodeMetricsEvent } from './metrics/node-metrics-event.entity';
import { NodeMetricsSubscriptionResolver, nodeMetricsTail } from './metrics/node-metrics.subscriptions';
import { postgresMigrations, sqliteMigrations } from './migrations';
import { monitoringMetrics } from './monitoring-metrics';
import { NotificationAttempt, NotificationChannel, NotificationDelivery } from './notifications/notification.entity';
import { NotificationChannelResolver, NotificationDeliveryResolver } from './notifications/notification.resolver';
import { NotificationSender } from './notifications/notification-sender';
import { Silence } from './silences/silence.entity';
import { SilenceResolver } from './silences/silence.resolver';

export const monitoring: SubgraphDefinition<MonitoringContext> = {
  name: 'monitoring',
  entities: [
    StoredSeries,
    MetricSample,
    MetricRollup,
    MetricsLease,
    StoredAlertRule,
    StoredAlert,
    AlertEvent,
    Silence,
    NotificationChannel,
    NotificationDelivery,
    NotificationAttempt,
    NodeMetricsEvent,
    StreamHead,
    AuditEntry,
  ],
  migrations: { sqlite: sqliteMigrations, postgres: postgresMigrations },
  buildSchema: () =>
    buildFederatedSchema<MonitoringContext>({
      resolvers: [
        MetricResolver,
        NodeMetricsResolver,
        NodeMetricsSubscriptionResolver,
        JobMetricsResolver,
        ModelVersionMetricsResolver,
        AlertRuleResolver,
        AlertResolver,
        AlertHistoryResolver,
        AlertSubscriptionResolver,
        SilenceResolver,
        NotificationChannelResolver,
        NotificationDeliveryResolver,
      ],
      // Entities of the scheduler and the registry no query of ours returns: the gateway reaches them through `_entities`.
      orphanedTypes: [MonitoredNode, MonitoredJob, MonitoredModelVersion],
      references: entityReferences,
    }),
  async start({ db, logger, config, metrics }) {
    const sender = new NotificationSender(db, config.monitoring.webhooks, logger, monitoringMetrics(db, metrics));
    const alertEvaluation = new AlertEvaluation(db, config.monitoring, sender, logger);
    await alertEvaluation.start();
    sender.start();
    const compaction = new MetricsCompaction(db, config.monitoring, config.subscriptions.replayWindow, logger);
    compaction.start();
    const alertUpdates = alertUpdatesTail(db, logger, config.subscriptions.replayWindow);
    const nodeMetricsUpdates = nodeMetricsTail(db, logger, config.subscriptions.replayWindow);
    const shared = { settings: config.monitoring, alertUpdates, nodeMetricsUpdates, subscriptionSettings: config.subscriptions };
    return {
      createContext: (base) => createMonitoringContext(base, shared),
      stop: async () => {
        alertUpdates.stop();
        nodeMetricsUpdates.stop();
        await Promise.all([compaction.stop(), alertEvaluation.stop(), sender.stop()]);
      },
    };
  },
};
