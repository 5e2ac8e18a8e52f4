// What the scheduler's resolvers receive with each request.
import DataLoader from 'dataloader';
import { In, type EntityManager } from 'typeorm';
import type { SchedulerSettings, SubscriptionSettings } from '../../common/config';
import type { StreamTail } from '../../common/events/stream-tail';
import type { ServiceContext } from '../../common/graphql/context';
import { Job, JobAttempt, type JobEvent } from './job/job.entity';
import type { JobUpdate } from './job/job.subscriptions';
import type { RegistryClient } from './job/registry-client';
import { Node, type NodeEvent } from './node/node.entity';
import type { NodeUpdate } from './node/node.subscriptions';

export interface SchedulerContext extends ServiceContext {
  loaders: SchedulerLoaders;
  registry: RegistryClient;
  settings: SchedulerSettings;
  /** Signs node credentials and join tokens. */
  secret: string;
  /** The jobs stream, for subscriptions. */
  jobUpdates: StreamTail<JobEvent, JobUpdate>;
  /** The nodes stream, for subscriptions. */
  nodeUpdates: StreamTail<NodeEvent, NodeUpdate>;
  subscriptionSettings: SubscriptionSettings;
}

export type SchedulerLoaders = ReturnType<typeof createLoaders>;

export function createLoaders(em: EntityManager) {
  return {
    node: new DataLoader(async (ids: readonly string[]) => {
      const rows = await em.findBy(Node, { id: In([...ids]) });
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id));
    }),
    job: new DataLoader(async (ids: readonly string[]) => {
      const rows = await em.findBy(Job, { id: In([...ids]) });
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id));
    }),
    attemptsOfJob: new DataLoader(async (jobIds: readonly string[]) => {
      const rows = await em.find(JobAttempt, { where: { jobId: In([...jobIds]) }, order: { number: 'ASC' } });
      return jobIds.map((id) => rows.filter((row) => row.jobId === id));
    }),
  };
}

export function createSchedulerContext(
  base: ServiceContext,
  shared: Pick<SchedulerContext, 'registry' | 'settings' | 'secret' | 'jobUpdates' | 'nodeUpdates' | 'subscriptionSettings'> & { wake: () => void },
): SchedulerContext {
  const context: SchedulerContext = {
    ...base,
    loaders: createLoaders(base.db.manager),
    registry: shared.registry,
    settings: shared.settings,
    secret: shared.secret,
    jobUpdates: shared.jobUpdates,
    nodeUpdates: shared.nodeUpdates,
    subscriptionSettings: shared.subscriptionSettings,
    clearCaches: () => {
      for (const loader of Object.values(context.loaders)) loader.clearAll();
    },
    afterCommit: () => {
      context.clearCaches?.();
      shared.wake();
    },
  };
  return context;
}
