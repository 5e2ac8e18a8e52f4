// The scheduler's side of the agent protocol. Agents are level-triggered: each heartbeat says what the node
// runs, and the answer says what it must run and what it must stop. Reports carry the attempt's fencing token,
// so an agent that comes back from the dead cannot change an attempt that has moved on.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { In, IsNull, type EntityManager } from 'typeorm';
import { issueNodeCredential } from '../../../common/auth/agent-credentials';
import type { Identity } from '../../../common/auth/identity';
import { forUpdate } from '../../../common/db/database';
import { newId } from '../../../common/db/ids';
import { ErrorCode, TouchlineError } from '../../../common/graphql/errors';
import { reject, succeed, userError, UserErrorCode, type Outcome } from '../../../common/graphql/types';
import { InputCheck } from '../../../common/validation';
import { finishAttempt } from '../job/attempts';
import { ACTIVE_ATTEMPT_STATES, AttemptState, Job, JobAttempt, JobLogLine, type LogStream } from '../job/job.entity';
import { labelMap } from '../job/job.inputs';
import { changeState } from '../job/job.service';
import { JobState } from '../job/job-state';
import { nodeSnapshotOf, recordNodeChange } from '../node/node-events';
import { JoinToken, Node, NodeHealth } from '../node/node.entity';
import {
  AttemptEventKind,
  checkNodeResources,
  checkRegistration,
  ExitReason,
  MAX_LOG_LINE_CHARS,
  MAX_LOG_LINES_PER_CALL,
  type AppendJobLogsInput,
  type NodeHeartbeatInput,
  type RegisterNodeInput,
  type ReportAttemptInput,
} from './agent.inputs';
import type { Assignment, StopOrder } from './agent.payloads';

/** Enrolls a node with a join token (the caller's identity) and gives it its own credential. */
export async function registerNode(
  em: EntityManager,
  input: RegisterNodeInput,
  caller: Identity,
  secret: string,
): Promise<Outcome<{ node: Node; credential: string }>> {
  const check = new InputCheck();
  checkRegistration(check, input);
  if (!check.ok) return reject(...check.errors);

  const token = await em.findOne(JoinToken, { where: { id: caller.id }, lock: forUpdate(em) });
  const now = new Date();
  if (!token || token.revokedAt) throw new TouchlineError('This join token has been revoked: ask an admin for a new one', ErrorCode.UNAUTHENTICATED);
  if (token.expiresAt <= now) throw new TouchlineError('This join token has expired: ask an admin for a new one', ErrorCode.UNAUTHENTICATED);
  if (token.uses >= token.maxUses) {
    throw new TouchlineError(`This join token was for ${token.maxUses} node(s) and is used up: ask an admin for a new one`, ErrorCode.UNAUTHENTICATED);
  }
  if (await em.existsBy(Node, { name: input.name, removedAt: IsNull() })) {
    return reject(userError('name', `A node named "${input.name}" is already enrolled: remove it first (removeNode), or choose another name`, UserErrorCode.ALREADY_EXISTS));
  }
  await em.update(JoinToken, { id: token.id }, { uses: token.uses + 1 });

  const node = em.create(Node, {
    id: newId(),
    name: input.name,
    labelMap: labelMap(input.labels),
    runtimes: [...new Set(input.runtimes)],
    agentVersion: input.agentVersion,
    capacityCpu: input.capacity.cpuMillicores,
    capacityMemory: input.capacity.memoryMiB,
    allocatableCpu: input.allocatable?.cpuMillicores ?? input.capacity.cpuMillicores,
    allocatableMemory: input.allocatable?.memoryMiB ?? input.capacity.memoryMiB,
    gpuList: (input.capacity.gpus ?? []).map((gpu) => ({ index: gpu.index, model: gpu.model ?? null, memoryMiB: gpu.memoryMiB })),
    allocatedCpu: 0,
    allocatedMemory: 0,
    allocatedGpus: [],
    health: NodeHealth.READY,
    cordoned: false,
    draining: false,
    drainDeadline: null,
    lastHeartbeatAt: now,
    registeredAt: now,
    removedAt: null,
    joinTokenId: token.id,
  });
  await em.insert(Node, node);
  recordNodeChange(em, null, node);
  return succeed({ node, credential: issueNodeCredential(secret, { id: node.id, name: node.name }) });
}

export interface HeartbeatAnswer {
  node: Node;
  assignments: Assignment[];
  stop: StopOrder[];
}

/** Records that the node is alive and answers with what it must run and what it must stop. */
export async function heartbeat(em: EntityManager, input: NodeHeartbeatInput, caller: Identity): Promise<Outcome<HeartbeatAnswer>> {
  const check = new InputCheck();
  checkNodeResources(check, 'capacity', input.capacity);
  if (input.running.length > 10_000) check.fail('running', 'at most 10000 attempts');
  if (!check.ok) return reject(...check.errors);

  const node = await callerNode(em, caller);
  const now = new Date();
  const changes: Partial<Node> = { lastHeartbeatAt: now };
  if (node.health !== NodeHealth.READY) changes.health = NodeHealth.READY;
  if (input.capacity) {
    Object.assign(changes, {
      capacityCpu: input.capacity.cpuMillicores,
      capacityMemory: input.capacity.memoryMiB,
      allocatableCpu: input.allocatable?.cpuMillicores ?? input.capacity.cpuMillicores,
      allocatableMemory: input.allocatable?.memoryMiB ?? input.capacity.memoryMiB,
      gpuList: (input.capacity.gpus ?? []).map((gpu) => ({ index: gpu.index, model: gpu.model ?? null, memoryMiB: gpu.memoryMiB })),
    });
  }
  await em.update(Node, { id: node.id }, changes);
  // Most heartbeats change neither the node's status nor its capacity: those record nothing in the nodes stream.
  const before = nodeSnapshotOf(node);
  Object.assign(node, changes);
  recordNodeChange(em, before, node);

  const attempts = await em.findBy(JobAttempt, { nodeId: node.id, state: In([...ACTIVE_ATTEMPT_STATES]) });
  const jobs = attempts.length ? await em.findBy(Job, { id: In(attempts.map((attempt) => attempt.jobId)) }) : [];
  const jobById = new Map(jobs.map((job) => [job.id, job]));
  const assigned = new Set(attempts.map((attempt) => attempt.id));
  const stop = input.running
    .filter((running) => !assigned.has(running.attemptId))
    .map((running) => ({ attemptId: running.attemptId, reason: 'no longer assigned to this node (cancelled, preempted, or moved while the node was away)' }));
  const assignments = attempts.flatMap((attempt) => {
    const job = jobById.get(attempt.jobId);
    return job ? [assignmentOf(job, attempt)] : [];
  });
  return succeed({ node, assignments, stop });
}

function assignmentOf(job: Job, attempt: JobAttempt): Assignment {
  return {
    attemptId: attempt.id,
    jobId: job.id,
    attemptNumber: attempt.number,
    token: attempt.token,
    runtime: job.runtime,
    image: job.image,
    command: job.command,
    args: job.args,
    env: job.env,
    cpuMillicores: attempt.cpuMillicores,
    memoryMiB: attempt.memoryMib,
    gpuIndices: attempt.gpuIndices,
    timeoutSeconds: job.timeoutSeconds,
  };
}

/** Applies an agent's report about one attempt; a report about an attempt this node no longer holds is refused. */
export async function reportAttempt(
  em: EntityManager,
  input: ReportAttemptInput,
  caller: Identity,
): Promise<Outcome<{ accepted: boolean; stop: boolean }>> {
  const check = new InputCheck();
  check.text('message', input.message, 4000);
  if (input.event === AttemptEventKind.EXITED && !input.reason) check.fail('reason', 'an EXITED report needs a reason', UserErrorCode.REQUIRED);
  if (input.exitCode != null) check.integer('exitCode', input.exitCode, -1_000_000, 1_000_000);
  if (!check.ok) return reject(...check.errors);

  await callerNode(em, caller);
  const attempt = await heldAttempt(em, caller, input.attemptId, input.token);
  if (!attempt || !ACTIVE_ATTEMPT_STATES.includes(attempt.state)) return succeed({ accepted: false, stop: true });
  const job = await em.findOneOrFail(Job, { where: { id: attempt.jobId }, lock: forUpdate(em) });

  if (input.event === AttemptEventKind.STARTING) {
    if (attempt.state === AttemptState.SCHEDULED) {
      await em.update(JobAttempt, { id: attempt.id }, { state: AttemptState.STARTING });
      if (job.state === JobState.SCHEDULED) await changeState(em, job, JobState.STARTING, { reason: null });
    }
    return succeed({ accepted: true, stop: false });
  }
  if (input.event === AttemptEventKind.RUNNING) {
    if (attempt.state !== AttemptState.RUNNING) {
      await em.update(JobAttempt, { id: attempt.id }, { state: AttemptState.RUNNING, startedAt: new Date() });
      if (job.state !== JobState.RUNNING) await changeState(em, job, JobState.RUNNING, { reason: null });
    }
    return succeed({ accepted: true, stop: false });
  }
  await attemptExited(em, job, attempt, input);
  return succeed({ accepted: true, stop: false });
}

async function attemptExited(em: EntityManager, job: Job, attempt: JobAttempt, input: ReportAttemptInput): Promise<void> {
  const exitCode = input.exitCode ?? null;
  job.exitCode = exitCode;
  if (input.reason === ExitReason.EXITED && exitCode === 0) {
    await finishAttempt(em, attempt, AttemptState.SUCCEEDED, { exitCode, reason: 'exit code 0' });
    await changeState(em, job, JobState.SUCCEEDED, { reason: null, finished: true });
    return;
  }
  if (input.reason === ExitReason.STOPPED) {
    // The agent stopped it without being told to (it is shutting down): not the job's fault; run it again.
    await finishAttempt(em, attempt, AttemptState.LOST, { exitCode, reason: 'stopped by the node\'s agent' });
    job.nextAttemptAt = new Date();
    await changeState(em, job, JobState.RETRYING, { reason: 'its node stopped it; trying again' });
    return;
  }
  const reason = describeFailure(input, job);
  await finishAttempt(em, attempt, AttemptState.FAILED, { exitCode, reason });
  job.failures += 1;
  if (job.failures < job.maxAttempts) {
    job.nextAttemptAt = new Date(Date.now() + backoffMs(job) );
    await changeState(em, job, JobState.RETRYING, { reason: `${reason}; attempt ${job.attempt} of ${job.maxAttempts} failed, retrying` });
  } else {
    await changeState(em, job, JobState.FAILED, { reason: `${reason} (attempt ${job.attempt}, ${job.failures} failure(s) of ${job.maxAttempts} allowed)`, finished: true });
  }
}

function describeFailure(input: ReportAttemptInput, job: Job): string {
  const detail = input.message ? `: ${input.message}` : '';
  switch (input.reason) {
    case ExitReason.TIMEOUT:
      return `timed out after ${job.timeoutSeconds} s`;
    case ExitReason.OOM_KILLED:
      return `killed for using more than ${job.memoryMib} MiB of memory (OOM)`;
    case ExitReason.IMAGE_MISSING:
      return `image missing on the node${detail}`;
    case ExitReason.START_FAILED:
      return `could not start${detail}`;
    default:
      return input.exitCode == null ? `ended without an exit code${detail}` : `exit code ${input.exitCode}${detail}`;
  }
}

/** Exponential backoff with jitter: between half and all of base * 2^(failures - 1), at most the maximum. */
export function backoffMs(job: Pick<Job, 'backoffSeconds' | 'maxBackoffSeconds' | 'failures'>, random = Math.random): number {
  const exponential = Math.min(job.maxBackoffSeconds, job.backoffSeconds * 2 ** Math.max(0, job.failures - 1));
  return Math.round(exponential * 1000 * (0.5 + random() / 2));
}

/** Stores lines a job wrote, keeping only the newest `keep` of the job. */
export async function appendLogs(
  em: EntityManager,
  input: AppendJobLogsInput,
  caller: Identity,
  keep: number,
): Promise<Outcome<{ accepted: boolean }>> {
  const check = new InputCheck();
  if (input.lines.length > MAX_LOG_LINES_PER_CALL) check.fail('lines', `at most ${MAX_LOG_LINES_PER_CALL} lines per call`);
  if (!check.ok) return reject(...check.errors);
  await callerNode(em, caller);
  const attempt = await heldAttempt(em, caller, input.attemptId, input.token);
  if (!attempt || attempt.state === AttemptState.LOST) return succeed({ accepted: false });
  if (input.lines.length === 0) return succeed({ accepted: true });

  const job = await em.findOneOrFail(Job, { where: { id: attempt.jobId }, lock: forUpdate(em) });
  const last = await em
    .createQueryBuilder(JobLogLine, 'l')
    .select('MAX(l.seq)', 'seq')
    .where('l.jobId = :jobId', { jobId: job.id })
    .getRawOne<{ seq: number | string | null }>();
  let seq = Number(last?.seq ?? 0);
  const rows = input.lines.map((line) => ({
    id: newId(),
    jobId: job.id,
    seq: ++seq,
    attempt: attempt.number,
    stream: line.stream as LogStream,
    text: line.text.length > MAX_LOG_LINE_CHARS ? `${line.text.slice(0, MAX_LOG_LINE_CHARS)}…` : line.text,
    at: line.at,
  }));
  for (let start = 0; start < rows.length; start += 200) await em.insert(JobLogLine, rows.slice(start, start + 200));
  await em
    .createQueryBuilder()
    .delete()
    .from(JobLogLine)
    .where('job_id = :jobId AND seq <= :oldest', { jobId: job.id, oldest: seq - keep })
    .execute();
  return succeed({ accepted: true });
}

/** The caller's node, which must be enrolled and not removed. */
async function callerNode(em: EntityManager, caller: Identity): Promise<Node> {
  const node = await em.findOne(Node, { where: { id: caller.id }, lock: forUpdate(em) });
  if (!node || node.removedAt) {
    throw new TouchlineError('This node has been removed: enroll it again with a new join token', ErrorCode.FORBIDDEN);
  }
  return node;
}

/** The attempt, if this node holds it with this token. */
async function heldAttempt(em: EntityManager, caller: Identity, attemptId: string, token: string): Promise<JobAttempt | undefined> {
  const attempt = await em.findOne(JobAttempt, { where: { id: attemptId }, lock: forUpdate(em) });
  if (!attempt || attempt.nodeId !== caller.id || !sameToken(attempt.token, token)) return undefined;
  return attempt;
}

function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function newFencingToken(): string {
  return randomBytes(24).toString('base64url');
}
