// Subscriptions to jobs: every change of a job's state as it commits, for dashboards (jobUpdated) and for node
// agents (nodeAssignments, only the jobs of their own node). Each event is the job as that change left it, with its
// number in the jobs stream; a client that reconnects passes the last number it saw as `after` and misses nothing.
import { Arg, Field, ID, InputType, Resolver, Root, Subscription } from 'type-graphql';
import { In, type EntityManager } from 'typeorm';
import type { BoundedQueue } from '../../../common/events/bounded-queue';
import { parseAfter, StreamTail } from '../../../common/events/stream-tail';
import type { Database } from '../../../common/db/database';
import { BadInputError } from '../../../common/graphql/errors';
import { RequiresRole } from '../../../common/graphql/types';
import type { Logger } from '../../../common/logger';
import type { SchedulerContext } from '../context';
import { Node } from '../node/node.entity';
import { Job, type JobEvent } from './job.entity';
import { JOB_STREAM, jobAsOf } from './job.service';
import { JobState } from './job-state';

const MAX_IDS = 100;

@InputType({ description: 'Which job changes to receive; every condition given must hold.' })
export class JobUpdatesFilter {
  @Field(() => [ID], { nullable: true, description: `These jobs only (at most ${MAX_IDS}).` })
  ids?: string[] | null;

  @Field(() => [JobState], { nullable: true, description: 'Changes into these states only.' })
  states?: JobState[] | null;

  @Field(() => String, { nullable: true, description: 'Jobs of any version of this model, by name.' })
  model?: string | null;

  @Field(() => String, { nullable: true, description: 'Changes on this node (where the job was placed, runs or ran), by name or id.' })
  node?: string | null;
}

/** A job change as subscribers get it: the job as the change left it, and the node the change concerns. */
export type JobUpdate = Job & { sequence: string; concernsNode: string | null };

/** The jobs stream for the subscribers of this scheduler instance. */
export function jobUpdatesTail(db: Database, logger: Logger, replayWindow: number): StreamTail<JobEvent, JobUpdate> {
  return new StreamTail<JobEvent, JobUpdate>({
    db,
    stream: JOB_STREAM,
    logger,
    replayWindow,
    load: (events) => loadUpdates(db.manager, events),
    sequenceOf: (update) => Number(update.sequence),
  });
}

async function loadUpdates(em: EntityManager, events: JobEvent[]): Promise<JobUpdate[]> {
  const jobs = await em.findBy(Job, { id: In([...new Set(events.map((event) => event.jobId))]) });
  const byId = new Map(jobs.map((job) => [job.id, job]));
  return events.flatMap((event) => {
    const job = byId.get(event.jobId);
    return job ? [Object.assign(jobAsOf(job, event), { sequence: String(event.sequence), concernsNode: event.nodeId })] : [];
  });
}

@Resolver()
export class JobSubscriptionResolver {
  @Subscription(() => Job, {
    description:
      'Each change of a job\'s state, as it happens: the job as that change left it. Give `after` (the `sequence` of the ' +
      'last event received) to first receive what was missed since, then live changes: delivery is at least once, in ' +
      'order for each job.',
    subscribe: ({ args, context }) => subscribeToJobs(context as SchedulerContext, args as JobUpdatedArgs),
  })
  jobUpdated(
    @Root() job: Job,
    @Arg('filter', () => JobUpdatesFilter, { nullable: true }) _filter: JobUpdatesFilter | null,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this sequence.' }) _after: string | null,
  ): Job {
    return job;
  }

  @Subscription(() => Job, {
    description: "For node agents: each change of a job placed on, running on, or taken off the caller's own node.",
    subscribe: ({ args, context }) => {
      const ctx = context as SchedulerContext;
      return ctx.jobUpdates.subscribe({
        after: parseAfter((args as JobUpdatedArgs).after),
        accept: (update) => update.concernsNode === ctx.identity.id,
        limit: ctx.subscriptionSettings.subscriberBuffer,
      });
    },
  })
  @RequiresRole('node')
  nodeAssignments(@Root() job: Job, @Arg('after', () => String, { nullable: true }) _after: string | null): Job {
    return job;
  }
}

interface JobUpdatedArgs {
  filter?: JobUpdatesFilter | null;
  after?: string | null;
}

async function subscribeToJobs(ctx: SchedulerContext, args: JobUpdatedArgs): Promise<BoundedQueue<JobUpdate>> {
  const filter = args.filter ?? {};
  if (filter.ids && filter.ids.length > MAX_IDS) throw new BadInputError('filter.ids', `at most ${MAX_IDS} ids`);
  const ids = filter.ids?.length ? new Set(filter.ids) : undefined;
  const states = filter.states?.length ? new Set(filter.states) : undefined;
  let nodeId: string | undefined;
  if (filter.node) {
    const node = await ctx.em
      .createQueryBuilder(Node, 'n')
      .where('(n.id = :node OR (n.name = :node AND n.removedAt IS NULL))', { node: filter.node })
      .getOne();
    if (!node) throw new BadInputError('filter.node', `no node is named or has the id "${filter.node.slice(0, 100)}"`);
    nodeId = node.id;
  }
  return ctx.jobUpdates.subscribe({
    after: parseAfter(args.after),
    accept: (update) =>
      (!ids || ids.has(update.id)) &&
      (!states || states.has(update.state)) &&
      (!filter.model || update.modelName === filter.model) &&
      (!nodeId || update.concernsNode === nodeId),
    limit: ctx.subscriptionSettings.subscriberBuffer,
  });
}
