// The scheduler subgraph: nodes and their agents, jobs and their attempts, placement, retries and failures.
import { StreamHead } from '../../common/events/stream';
import { AuditEntry } from '../../common/audit/audit-entry.entity';
import { buildFederatedSchema } from '../../common/graphql/subgraph-schema';
import type { SubgraphDefinition } from '../../common/subgraph-server';
import { AgentResolver } from './agent-api/agent.resolver';
import { createSchedulerContext, type SchedulerContext } from './context';
import { ControlLoop } from './control-loop';
import { Job, JobAttempt, JobEvent, JobLogLine, SchedulerLease } from './job/job.entity';
import { JobAttemptResolver, JobResolver } from './job/job.resolver';
import { JobSubscriptionResolver, jobUpdatesTail } from './job/job.subscriptions';
import { RegistryClient } from './job/registry-client';
import { schedulerMetrics } from './scheduler-metrics';
import { postgresMigrations, sqliteMigrations } from './migrations';
import { JoinToken, Node, NodeEvent } from './node/node.entity';
import { NodeResolver } from './node/node.resolver';
import { NodeSubscriptionResolver, nodeUpdatesTail } from './node/node.subscriptions';

export const scheduler: SubgraphDefinition<SchedulerContext> = {
  name: 'scheduler',
  entities: [Node, NodeEvent, JoinToken, Job, JobAttempt, JobEvent, JobLogLine, SchedulerLease, StreamHead, AuditEntry],
  migrations: { sqlite: sqliteMigrations, postgres: postgresMigrations },
  buildSchema: () =>
    buildFederatedSchema<SchedulerContext>({
      resolvers: [JobResolver, JobAttemptResolver, JobSubscriptionResolver, NodeResolver, NodeSubscriptionResolver, AgentResolver],
      references: {
        Job: (reference, ctx) => ctx.loaders.job.load(reference.id),
        Node: (reference, ctx) => ctx.loaders.node.load(reference.id),
      },
    }),
  async start({ db, logger, config, secret, peers, metrics }) {
    const loop = new ControlLoop(db, config.scheduler, logger, schedulerMetrics(db, metrics));
    loop.start();
    const registry = new RegistryClient(peers.registry ?? config.subgraphUrls.registry, secret);
    const jobUpdates = jobUpdatesTail(db, logger, config.subscriptions.replayWindow);
    const nodeUpdates = nodeUpdatesTail(db, logger, config.subscriptions.replayWindow);
    const shared = {
      registry,
      settings: config.scheduler,
      secret,
      jobUpdates,
      nodeUpdates,
      subscriptionSettings: config.subscriptions,
      wake: () => loop.wake(),
    };
    return {
      createContext: (base) => createSchedulerContext(base, shared),
      stop: async () => {
        jobUpdates.stop();
        nodeUpdates.stop();
        await loop.stop();
      },
    };
  },
};
