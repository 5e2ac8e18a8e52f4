// The rules of jobs as people see them: submitting (idempotently), cancelling, retrying, and listing.
import { createHash } from 'node:crypto';
import { In, type EntityManager } from 'typeorm';
import type { Identity } from '../../../common/auth/identity';
import { forUpdate } from '../../../common/db/database';
import { newId } from '../../../common/db/ids';
import { paginate, type ConnectionShape, type PageArgs } from '../../../common/graphql/connection';
import { reject, succeed, userError, UserErrorCode, type Outcome } from '../../../common/graphql/types';
import { InputCheck } from '../../../common/validation';
import { Node } from '../node/node.entity';
import { appendToStream, type StreamDefinition } from '../../../common/events/stream';
import { finishAttempt } from './attempts';
import { ACTIVE_ATTEMPT_STATES, AttemptState, Job, JobAttempt, JobEvent, JobRuntime, type JobSnapshot } from './job.entity';
import {
  checkSubmission,
  DEFAULT_JOB_RESOURCES,
  JOB_LIMITS,
  labelMap,
  type CancelJobInput,
  type JobFilter,
  type RetryJobInput,
  type SubmitJobInput,
} from './job.inputs';
import { assertTransition, FINAL_STATES, JobState } from './job-state';
import type { RegistryClient, VersionArtifact } from './registry-client';

export async function submitJob(
  em: EntityManager,
  input: SubmitJobInput,
  actor: Identity,
  registry: RegistryClient,
): Promise<Outcome<{ job: Job }>> {
  const check = new InputCheck();
  checkSubmission(check, input);
  if (!check.ok) return reject(...check.errors);

  const requestHash = createHash('sha256').update(JSON.stringify(input)).digest('hex');
  if (input.idempotencyKey) {
    const earlier = await em.findOneBy(Job, { idempotencyKey: input.idempotencyKey });
    if (earlier) {
      if (earlier.requestHash !== requestHash) {
        return reject(userError('idempotencyKey', 'This key was already used for a different submission', UserErrorCode.CONFLICT));
      }
      return succeed({ job: earlier });
    }
  }

  let version: VersionArtifact | undefined;
  if (input.modelVersion) {
    const { model, version: semver, alias } = input.modelVersion;
    version = await registry.findVersion(model, { version: semver, alias }, actor);
    const which = semver != null ? `version ${semver}` : `alias "${alias}"`;
    if (!version) return reject(userError('modelVersion', `The registry has no ${which} of a model named "${model}"`, UserErrorCode.NOT_FOUND));
    if (!version.image && !version.command) {
      return reject(userError('modelVersion', `${model} ${version.version} has no image or command to run`, UserErrorCode.INVALID));
    }
  }

  const image = input.image ?? version?.image ?? null;
  const command = input.command ?? version?.command ?? null;
  const runtime = input.runtime ?? (image ? JobRuntime.DOCKER : JobRuntime.PROCESS);
  if (runtime === JobRuntime.PROCESS && !command) {
    return reject(userError('runtime', 'The process runtime needs a command, and this job has none', UserErrorCode.INVALID));
  }
  const defaults = version?.resources ?? DEFAULT_JOB_RESOURCES;
  const resources = { ...defaults, ...withoutNulls(input.resources ?? {}) };
  if (resources.gpuMemoryMiB > 0 && resources.gpuCount === 0) {
    return reject(userError('resources.gpuMemoryMiB', 'asks for GPU memory without any GPU: set gpuCount too', UserErrorCode.INVALID));
  }
  const now = new Date();
  const job = em.create(Job, {
    id: newId(),
    name: input.name ?? null,
    state: JobState.PENDING,
    priority: input.priority ?? JOB_LIMITS.priority.default,
    queuedAt: now.getTime(),
    runtime,
    modelVersionId: version?.id ?? null,
    modelName: version?.model ?? null,
    modelVersionName: version?.version ?? null,
    image,
    command,
    args: input.args ?? [],
    envMap: Object.fromEntries((input.env ?? []).map((variable) => [variable.name, variable.value])),
    inputRef: input.inputRef ?? null,
    cpuMillicores: resources.cpuMillicores,
    memoryMib: resources.memoryMiB,
    gpuCount: resources.gpuCount,
    gpuMemoryMib: resources.gpuMemoryMiB,
    nodeSelectorMap: labelMap(input.nodeSelector),
    maxAttempts: input.retry?.maxAttempts ?? JOB_LIMITS.maxAttempts.default,
    backoffSeconds: input.retry?.backoffSeconds ?? JOB_LIMITS.backoffSeconds.default,
    maxBackoffSeconds: input.retry?.maxBackoffSeconds ?? JOB_LIMITS.maxBackoffSeconds.default,
    timeoutSeconds: input.timeoutSeconds ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
    requestHash,
    attempt: 0,
    failures: 0,
    nextAttemptAt: null,
    nodeId: null,
    unschedulableReason: null,
    reason: null,
    exitCode: null,
    createdBy: actor.name,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
  });
  await em.insert(Job, job);
  recordEvents(em, [{ jobId: job.id, from: null, to: JobState.PENDING, reason: 'submitted', attempt: null, nodeId: null, snapshot: snapshotOf(job) }]);
  return succeed({ job });
}

export async function cancelJob(em: EntityManager, input: CancelJobInput, actor: Identity): Promise<Outcome<{ job: Job }>> {
  const check = new InputCheck();
  check.text('reason', input.reason, 1000);
  if (!check.ok) return reject(...check.errors);
  const job = await em.findOne(Job, { where: { id: input.id }, lock: forUpdate(em) });
  if (!job) return reject(jobNotFound(input.id));
  if (FINAL_STATES.includes(job.state)) {
    return reject(userError('id', `Job ${job.id} has already ended (${job.state})`, UserErrorCode.CONFLICT));
  }
  const reason = input.reason ? `cancelled by ${actor.name}: ${input.reason}` : `cancelled by ${actor.name}`;
  const active = await activeAttempt(em, job);
  if (active) await finishAttempt(em, active, AttemptState.CANCELLED, { reason });
  await changeState(em, job, JobState.CANCELLED, { reason, finished: true });
  return succeed({ job });
}

export async function retryJob(em: EntityManager, input: RetryJobInput): Promise<Outcome<{ job: Job }>> {
  const job = await em.findOne(Job, { where: { id: input.id }, lock: forUpdate(em) });
  if (!job) return reject(jobNotFound(input.id));
  if (job.state !== JobState.FAILED && job.state !== JobState.CANCELLED) {
    return reject(userError('id', `Only a FAILED or CANCELLED job can be retried; job ${job.id} is ${job.state}`, UserErrorCode.CONFLICT));
  }
  job.failures = 0;
  job.nextAttemptAt = null;
  job.queuedAt = Date.now();
  await changeState(em, job, JobState.PENDING, { reason: 'retried' });
  return succeed({ job });
}

/** Moves a job to a new state (checked against the state machine) and records the change. */
export async function changeState(em: EntityManager, job: Job, to: JobState, change: ChangeDetails): Promise<void> {
  const event = stateChange(job, to, change);
  await em.update(Job, { id: job.id }, stateColumnsOf(job));
  recordEvents(em, [event]);
}

/** What changeState writes of a job: a bulk writer (the placement commit) writes the same columns. */
export const STATE_COLUMNS = [
  'state',
  'updatedAt',
  'reason',
  'unschedulableReason',
  'finishedAt',
  'nodeId',
  'failures',
  'nextAttemptAt',
  'queuedAt',
  'exitCode',
] as const satisfies readonly (keyof Job)[];

function stateColumnsOf(job: Job): Pick<Job, (typeof STATE_COLUMNS)[number]> {
  const { state, updatedAt, reason, unschedulableReason, finishedAt, nodeId, failures, nextAttemptAt, queuedAt, exitCode } = job;
  return { state, updatedAt, reason, unschedulableReason, finishedAt, nodeId, failures, nextAttemptAt, queuedAt, exitCode };
}

export interface ChangeDetails {
  reason?: string | null;
  finished?: boolean;
  keepReason?: boolean;
  /** The node the change concerns, when the caller already took the job off it (preemption, a lost node). */
  node?: string | null;
}

/** A change of a job's state, to record as a JobEvent. */
export interface StateChange {
  jobId: string;
  from: JobState | null;
  to: JobState;
  reason: string | null;
  attempt: number | null;
  nodeId: string | null;
  snapshot: JobSnapshot;
}

/**
 * The in-memory half of changeState: checks the move against the state machine and changes `job` as changeState
 * does. The caller writes STATE_COLUMNS and records the returned event (recordEvents) in the same transaction.
 */
export function stateChange(job: Job, to: JobState, change: ChangeDetails, now = new Date()): StateChange {
  assertTransition(job.id, job.state, to);
  const from = job.state;
  const node = change.node ?? job.nodeId;
  job.state = to;
  job.updatedAt = now;
  if (!change.keepReason) job.reason = change.reason ?? null;
  if (to !== JobState.PENDING && to !== JobState.RETRYING && to !== JobState.PREEMPTED) job.unschedulableReason = null;
  if (change.finished) {
    job.finishedAt = now;
    job.nodeId = null;
  } else if (to === JobState.PENDING) {
    job.finishedAt = null;
  }
  return { jobId: job.id, from, to, reason: change.reason ?? null, attempt: job.attempt || null, nodeId: node, snapshot: snapshotOf(job) };
}

export function snapshotOf(job: Job): JobSnapshot {
  return {
    state: job.state,
    attempt: job.attempt,
    nodeId: job.nodeId,
    reason: job.reason,
    unschedulableReason: job.unschedulableReason,
    exitCode: job.exitCode,
    failures: job.failures,
    nextAttemptAt: job.nextAttemptAt?.toISOString() ?? null,
    updatedAt: job.updatedAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null,
    queuedAt: job.queuedAt,
  };
}

/**
 * The job as a stream event shows it: its row as the event's change left it. (Events recorded before the stream
 * existed hold only the state they reached; the rest is taken from the row as it is.)
 */
export function jobAsOf(job: Job, event: JobEvent): Job {
  const snapshot: Partial<JobSnapshot> = event.snapshot;
  const date = (value: string | null | undefined, current: Date | null) => (value === undefined ? current : value === null ? null : new Date(value));
  return Object.assign(new Job(), job, {
    state: snapshot.state ?? event.toState,
    attempt: snapshot.attempt ?? job.attempt,
    nodeId: snapshot.nodeId === undefined ? job.nodeId : snapshot.nodeId,
    reason: snapshot.reason === undefined ? job.reason : snapshot.reason,
    unschedulableReason: snapshot.unschedulableReason === undefined ? job.unschedulableReason : snapshot.unschedulableReason,
    exitCode: snapshot.exitCode === undefined ? job.exitCode : snapshot.exitCode,
    failures: snapshot.failures ?? job.failures,
    queuedAt: snapshot.queuedAt ?? job.queuedAt,
    nextAttemptAt: date(snapshot.nextAttemptAt, job.nextAttemptAt),
    updatedAt: date(snapshot.updatedAt, job.updatedAt) ?? job.updatedAt,
    finishedAt: date(snapshot.finishedAt, job.finishedAt),
    sequence: String(event.sequence),
  });
}

/** The `jobs` stream: every change of a job's state, in commit order. */
export const JOB_STREAM: StreamDefinition<JobEvent> = { name: 'jobs', entity: JobEvent };

/**
 * Records changes as JobEvents, in the order given, and appends them to the jobs stream: they are written, numbered,
 * as the transaction's last statements (common/events/stream.ts).
 */
export function recordEvents(em: EntityManager, changes: readonly StateChange[]): void {
  const at = new Date();
  const rows = changes.map((change) =>
    Object.assign(new JobEvent(), {
      id: newId(),
      jobId: change.jobId,
      fromState: change.from,
      toState: change.to,
      attempt: change.attempt,
      reason: change.reason,
      nodeId: change.nodeId,
      snapshot: change.snapshot,
      at,
    }),
  );
  appendToStream(em, JOB_STREAM, rows);
}

/** The job's attempt that holds resources on a node now, locked, if it has one. */
export function activeAttempt(em: EntityManager, job: Job): Promise<JobAttempt | null> {
  return em.findOne(JobAttempt, { where: { jobId: job.id, state: In([...ACTIVE_ATTEMPT_STATES]) }, lock: forUpdate(em) });
}

export function jobNotFound(id: string) {
  return userError('id', `No job with id ${id}`, UserErrorCode.NOT_FOUND);
}

/** Newest first. */
export function listJobs(em: EntityManager, filter: JobFilter | null | undefined, page: PageArgs): Promise<ConnectionShape<Job>> {
  const query = em.createQueryBuilder(Job, 'job');
  if (filter?.states?.length) query.andWhere('job.state IN (:...states)', { states: filter.states });
  if (filter?.modelVersionId) query.andWhere('job.modelVersionId = :modelVersionId', { modelVersionId: filter.modelVersionId });
  if (filter?.model) query.andWhere('job.modelName = :model', { model: filter.model });
  if (filter?.node) {
    query.andWhere(
      (sub) =>
        `job.nodeId IN ${sub.subQuery().select('n.id').from(Node, 'n').where('(n.id = :node OR (n.name = :node AND n.removedAt IS NULL))').getQuery()}`,
      { node: filter.node },
    );
  }
  return paginate(query, page, [{ column: 'job.id', value: (job) => job.id, direction: 'DESC' }]);
}

function withoutNulls<T extends object>(value: T): { [K in keyof T]?: NonNullable<T[K]> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined)) as never;
}
