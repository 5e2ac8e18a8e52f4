// GraphQL for jobs: submit, cancel, retry, look up and list, with their attempts, history and logs.
import { Arg, Args, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';

import { PageArgs, toConnection } from '../../../common/graphql/connection';
import { BadInputError } from '../../../common/graphql/errors';
import { toPayload } from '../../../common/graphql/types';
import type { SchedulerContext } from '../context';
import { Node } from '../node/node.entity';
import { Job, JobAttempt, JobEvent, JobLogLine } from './job.entity';
import { CancelJobInput, JobFilter, RetryJobInput, SubmitJobInput } from './job.inputs';
import { CancelJobPayload, JobConnection, ModelVersionReference, RetryJobPayload, SubmitJobPayload } from './job.payloads';
import { cancelJob, listJobs, retryJob, submitJob } from './job.service';

const MAX_LOG_TAIL = 5_000;

@Resolver(() => Job)
export class JobResolver {
  @Query(() => Job, { nullable: true })
  job(@Arg('id', () => ID) id: string, @Ctx() ctx: SchedulerContext): Promise<Job | undefined> {
    return ctx.loaders.job.load(id);
  }

  @Query(() => JobConnection, { description: 'Jobs, newest first.' })
  async jobs(
    @Arg('filter', () => JobFilter, { nullable: true }) filter: JobFilter | null,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: SchedulerContext,
  ): Promise<JobConnection> {
    return toConnection(JobConnection, await listJobs(ctx.em, filter, page));
  }

  @Mutation(() => SubmitJobPayload, { description: 'Queues a job; the scheduler places it on a node that has room.' })
  async submitJob(@Arg('input', () => SubmitJobInput) input: SubmitJobInput, @Ctx() ctx: SchedulerContext): Promise<SubmitJobPayload> {
    return toPayload(SubmitJobPayload, await submitJob(ctx.em, input, ctx.identity, ctx.registry));
  }

  @Mutation(() => CancelJobPayload, { description: 'Cancels a job; a running attempt is stopped on its node.' })
  async cancelJob(@Arg('input', () => CancelJobInput) input: CancelJobInput, @Ctx() ctx: SchedulerContext): Promise<CancelJobPayload> {
    return toPayload(CancelJobPayload, await cancelJob(ctx.em, input, ctx.identity));
  }

  @Mutation(() => RetryJobPayload, { description: 'Queues a FAILED or CANCELLED job again, with a fresh retry budget.' })
  async retryJob(@Arg('input', () => RetryJobInput) input: RetryJobInput, @Ctx() ctx: SchedulerContext): Promise<RetryJobPayload> {
    return toPayload(RetryJobPayload, await retryJob(ctx.em, input));
  }

  @FieldResolver(() => [JobAttempt], { description: 'Its attempts, first first.' })
  attempts(@Root() job: Job, @Ctx() ctx: SchedulerContext): Promise<JobAttempt[]> {
    return ctx.loaders.attemptsOfJob.load(job.id);
  }

  @FieldResolver(() => Node, { nullable: true, description: 'The node its current attempt runs on.' })
  node(@Root() job: Job, @Ctx() ctx: SchedulerContext): Promise<Node | undefined> | null {
    return job.nodeId ? ctx.loaders.node.load(job.nodeId) : null;
  }

  @FieldResolver(() => ModelVersionReference, { nullable: true, description: 'The registry model version it runs, if it runs one.' })
  modelVersion(@Root() job: Job): ModelVersionReference | null {
    return job.modelVersionId ? { id: job.modelVersionId } : null;
  }

  @FieldResolver(() => [JobEvent], { description: 'Every change of its state, oldest first.' })
  events(@Root() job: Job, @Ctx() ctx: SchedulerContext): Promise<JobEvent[]> {
    return ctx.em.find(JobEvent, { where: { jobId: job.id }, order: { id: 'ASC' } });
  }

  @FieldResolver(() => [JobLogLine], { description: 'The last lines it wrote (stdout and stderr), oldest first.' })
  async logs(
    @Root() job: Job,
    @Arg('tail', () => Int, { defaultValue: 100, description: `How many lines, at most ${MAX_LOG_TAIL}.` }) tail: number,
    @Arg('attempt', () => Int, { nullable: true, description: 'Only this attempt\'s lines.' }) attempt: number | null,
    @Ctx() ctx: SchedulerContext,
  ): Promise<JobLogLine[]> {
    if (tail < 1 || tail > MAX_LOG_TAIL) throw new BadInputError('tail', `must be between 1 and ${MAX_LOG_TAIL} (got ${tail})`);
    const lines = await ctx.em.find(JobLogLine, {
      where: attempt == null ? { jobId: job.id } : { jobId: job.id, attempt },
      order: { seq: 'DESC' },
      take: tail,
    });
    return lines.reverse();
  }
}

@Resolver(() => JobAttempt)
export class JobAttemptResolver {
  @FieldResolver(() => Node, { nullable: true })
  node(@Root() attempt: JobAttempt, @Ctx() ctx: SchedulerContext): Promise<Node | undefined> {
    return ctx.loaders.node.load(attempt.nodeId);
  }
}

