// A job: what to run (a registry model version's artifact, or an image or command given directly), with what
// resources, priority, retries and time limit; its state; and its attempts, events and logs.
import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { ResourceRequests } from '../../../common/graphql/resources';
import { Label } from '../node/node.entity';
import { JobState } from './job-state';

export enum JobRuntime {
  DOCKER = 'docker',
  PROCESS = 'process',
  SIMULATED = 'simulated',
}
registerEnumType(JobRuntime, {
  name: 'JobRuntime',
  description: 'DOCKER: the image in a container. PROCESS: the command as a process on the node. SIMULATED: a stand-in that only waits (scale tests, demos).',
});

export enum AttemptState {
  SCHEDULED = 'SCHEDULED',
  STARTING = 'STARTING',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
  PREEMPTED = 'PREEMPTED',
  /** Its node went silent past the grace period; the job went on elsewhere. */
  LOST = 'LOST',
}
registerEnumType(AttemptState, { name: 'AttemptState' });

export const ACTIVE_ATTEMPT_STATES: readonly AttemptState[] = [AttemptState.SCHEDULED, AttemptState.STARTING, AttemptState.RUNNING];

@ObjectType({ description: 'An environment variable.' })
export class EnvVar {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  value!: string;
}

@ObjectType({ description: 'How a failing job is tried again.' })
export class RetryPolicy {
  @Field(() => Int, { description: 'Attempts in all, counting the first; failures beyond it end the job FAILED.' })
  maxAttempts!: number;

  @Field(() => Int, { description: 'The wait after the first failure; it doubles after each one (with jitter).' })
  backoffSeconds!: number;

  @Field(() => Int)
  maxBackoffSeconds!: number;
}

@ObjectType({ description: 'A job: one run of a model or a command on a node, retried as its policy says.' })
@Directive('@key(fields: "id")')
@Entity('job')
@Index('job_queue', ['state', 'priority', 'queuedAt'])
@Index('job_idempotency_key', ['idempotencyKey'], { unique: true, where: 'idempotency_key IS NOT NULL' })
@Index('job_model_version', ['modelVersionId'])
@Index('job_node', ['nodeId'])
export class Job {
  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 100, nullable: true })
  name!: string | null;

  @Field(() => JobState)
  @Column({ type: 'varchar', length: 16 })
  state!: JobState;

  @Field(() => Int, { description: 'Higher runs first; a job may preempt jobs 10 or more levels lower.' })
  @Column({ type: 'integer' })
  priority!: number;

  /** Position in the queue within a priority: the time it was (re)queued, in milliseconds. */
  @Column({ type: 'bigint' })
  queuedAt!: number;

  @Field(() => JobRuntime)
  @Column({ type: 'varchar', length: 16 })
  runtime!: JobRuntime;

  @Column({ type: 'varchar', length: 36, nullable: true })
  modelVersionId!: string | null;

  /** The model's name and version when it was submitted, for filters and logs (the registry owns the rest). */
  @Index('job_model_name')
  @Column({ type: 'varchar', length: 63, nullable: true })
  modelName!: string | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  modelVersionName!: string | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 512, nullable: true })
  image!: string | null;

  @Field(() => [String], { nullable: true })
  @Column({ type: 'json', nullable: true })
  command!: string[] | null;

  @Field(() => [String])
  @Column({ type: 'json' })
  args!: string[];

  @Column({ type: 'json' })
  envMap!: Record<string, string>;

  @Field(() => String, { nullable: true, description: 'What the job reads, for example a dataset or a match id.' })
  @Column({ type: 'varchar', length: 1000, nullable: true })
  inputRef!: string | null;

  @Column({ type: 'integer' })
  cpuMillicores!: number;

  @Column({ type: 'integer' })
  memoryMib!: number;

  @Column({ type: 'integer' })
  gpuCount!: number;

  @Column({ type: 'integer' })
  gpuMemoryMib!: number;

  @Column({ type: 'json' })
  nodeSelectorMap!: Record<string, string>;

  @Column({ type: 'integer' })
  maxAttempts!: number;

  @Column({ type: 'integer' })
  backoffSeconds!: number;

  @Column({ type: 'integer' })
  maxBackoffSeconds!: number;

  @Field(() => Int, { nullable: true, description: 'Each attempt is stopped after this long (TIMEOUT).' })
  @Column({ type: 'integer', nullable: true })
  timeoutSeconds!: number | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 200, nullable: true })
  idempotencyKey!: string | null;

  /** A hash of the submission, to tell a retried request from a different one that reuses its key. */
  @Column({ type: 'varchar', length: 64 })
  requestHash!: string;

  @Field(() => Int, { description: 'How many attempts it has had.' })
  @Column({ type: 'integer' })
  attempt!: number;

  @Field(() => Int, { description: 'How many of them failed (a lost node or a preemption is not a failure).' })
  @Column({ type: 'integer' })
  failures!: number;

  /** When a RETRYING job may be placed again. */
  @Column({ type: Date, nullable: true })
  nextAttemptAt!: Date | null;

  /** The node of its active attempt, while it has one. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  nodeId!: string | null;

  @Field(() => String, { nullable: true, description: 'Why it waits: what no node has for it.' })
  @Column({ type: 'text', nullable: true })
  unschedulableReason!: string | null;

  @Field(() => String, { nullable: true, description: 'Why it ended as it did, or why its last attempt failed.' })
  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Field(() => Int, { nullable: true, description: 'The exit code of its last attempt.' })
  @Column({ type: 'integer', nullable: true })
  exitCode!: number | null;

  @Field(() => String)
  @Column({ type: 'varchar', length: 200 })
  createdBy!: string;

  @Field(() => Date)
  @Column({ type: Date })
  createdAt!: Date;

  @Field(() => Date)
  @Column({ type: Date })
  updatedAt!: Date;

  @Field(() => Date, { nullable: true })
  @Column({ type: Date, nullable: true })
  finishedAt!: Date | null;

  @Field(() => String, {
    nullable: true,
    description:
      "In a jobUpdated event: the event's number in the jobs stream. Pass the last one received as jobUpdated(after:) " +
      'to resume without missing a change. Null outside subscriptions.',
  })
  sequence?: string | null;

  @Field(() => [EnvVar])
  get env(): EnvVar[] {
    return Object.entries(this.envMap).map(([name, value]) => ({ name, value }));
  }

  @Field(() => ResourceRequests)
  get resources(): ResourceRequests {
    return { cpuMillicores: this.cpuMillicores, memoryMiB: this.memoryMib, gpuCount: this.gpuCount, gpuMemoryMiB: this.gpuMemoryMib };
  }

  @Field(() => [Label], { description: 'Labels a node must carry to run it.' })
  get nodeSelector(): Label[] {
    return Object.entries(this.nodeSelectorMap).map(([key, value]) => ({ key, value }));
  }

  @Field(() => RetryPolicy)
  get retryPolicy(): RetryPolicy {
    return { maxAttempts: this.maxAttempts, backoffSeconds: this.backoffSeconds, maxBackoffSeconds: this.maxBackoffSeconds };
  }
}

@ObjectType({ description: 'One attempt of a job on a node.' })
@Entity('job_attempt')
@Index('job_attempt_job', ['jobId', 'number'], { unique: true })
@Index('job_attempt_node_state', ['nodeId', 'state'])
export class JobAttempt {
  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  jobId!: string;

  @Field(() => Int)
  @Column({ type: 'integer' })
  number!: number;

  @Column({ type: 'varchar', length: 36 })
  nodeId!: string;

  /** Fencing: reports about this attempt must carry it, so a stale agent cannot change a newer attempt. */
  @Column({ type: 'varchar', length: 64 })
  token!: string;

  @Field(() => AttemptState)
  @Column({ type: 'varchar', length: 16 })
  state!: AttemptState;

  @Field(() => [Int], { description: 'The GPUs it holds on its node.' })
  @Column({ type: 'json' })
  gpuIndices!: number[];

  @Column({ type: 'integer' })
  cpuMillicores!: number;

  @Column({ type: 'integer' })
  memoryMib!: number;

  @Field(() => Int, { nullable: true })
  @Column({ type: 'integer', nullable: true })
  exitCode!: number | null;

  @Field(() => String, { nullable: true, description: 'Why it ended: exit code, TIMEOUT, OOM_KILLED, IMAGE_MISSING, node lost, preempted...' })
  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Field(() => Date)
  @Column({ type: Date })
  scheduledAt!: Date;

  @Field(() => Date, { nullable: true })
  @Column({ type: Date, nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  @Column({ type: Date, nullable: true })
  finishedAt!: Date | null;
}

/** What a job event records of the job as the change left it: the columns a change can move. */
export interface JobSnapshot {
  state: JobState;
  attempt: number;
  nodeId: string | null;
  reason: string | null;
  unschedulableReason: string | null;
  exitCode: number | null;
  failures: number;
  nextAttemptAt: string | null;
  updatedAt: string;
  finishedAt: string | null;
  queuedAt: number;
}

@ObjectType({ description: "A change of a job's state." })
@Entity('job_event')
@Index('job_event_job', ['jobId', 'id'])
@Index('job_event_sequence', ['sequence'], { unique: true })
export class JobEvent {
  /** The event's number in the `jobs` stream, given at commit (common/events/stream.ts). */
  @Column({ type: 'bigint' })
  sequence!: number;

  /** The node the change concerns: where the job was placed, runs, or ran until this change. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  nodeId!: string | null;

  /** The job as this change left it, for subscribers (they see each state, not only the latest). */
  @Column({ type: 'simple-json' })
  snapshot!: JobSnapshot;

  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  jobId!: string;

  @Field(() => JobState, { nullable: true })
  @Column({ type: 'varchar', length: 16, nullable: true })
  fromState!: JobState | null;

  @Field(() => JobState)
  @Column({ type: 'varchar', length: 16 })
  toState!: JobState;

  @Field(() => Int, { nullable: true })
  @Column({ type: 'integer', nullable: true })
  attempt!: number | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Field(() => Date)
  @Column({ type: Date })
  at!: Date;
}

export enum LogStream {
  STDOUT = 'stdout',
  STDERR = 'stderr',
}
registerEnumType(LogStream, { name: 'LogStream' });

@ObjectType({ description: 'A line a job wrote.' })
@Entity('job_log')
@Index('job_log_job', ['jobId', 'seq'])
export class JobLogLine {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  jobId!: string;

  /** Order within the job: lines are kept and returned in it. */
  @Column({ type: 'bigint' })
  seq!: number;

  @Field(() => Int)
  @Column({ type: 'integer' })
  attempt!: number;

  @Field(() => LogStream)
  @Column({ type: 'varchar', length: 6 })
  stream!: LogStream;

  @Field(() => String)
  @Column({ type: 'text' })
  text!: string;

  @Field(() => Date)
  @Column({ type: Date })
  at!: Date;
}

/** Who runs the scheduler's control loop: one instance at a time holds the lease and renews it. */
@Entity('scheduler_lease')
export class SchedulerLease {
  @PrimaryColumn({ type: 'varchar', length: 50 })
  name!: string;

  @Column({ type: 'varchar', length: 100 })
  holder!: string;

  @Column({ type: Date })
  expiresAt!: Date;
}
