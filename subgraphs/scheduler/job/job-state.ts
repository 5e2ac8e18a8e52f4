// The job state machine: which moves are legal. Every change of state goes through `assertTransition`.
import { registerEnumType } from 'type-graphql';

export enum JobState {
  PENDING = 'PENDING',
  SCHEDULED = 'SCHEDULED',
  STARTING = 'STARTING',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
  /** Its last attempt failed or its node was lost; it waits (backoff) for its next attempt. */
  RETRYING = 'RETRYING',
  /** A higher-priority job took its place; it waits for a node again. */
  PREEMPTED = 'PREEMPTED',
}
registerEnumType(JobState, {
  name: 'JobState',
  description:
    'PENDING -> SCHEDULED -> STARTING -> RUNNING -> SUCCEEDED | FAILED | CANCELLED. RETRYING: waiting for its next attempt ' +
    '(after a failure, with backoff, or at once after its node was lost). PREEMPTED: evicted for a higher-priority job; ' +
    'it waits for a node again.',
});

const TRANSITIONS: Record<JobState, readonly JobState[]> = {
  [JobState.PENDING]: [JobState.SCHEDULED, JobState.CANCELLED],
  [JobState.RETRYING]: [JobState.SCHEDULED, JobState.CANCELLED],
  [JobState.PREEMPTED]: [JobState.SCHEDULED, JobState.CANCELLED],
  [JobState.SCHEDULED]: [JobState.STARTING, JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED, JobState.RETRYING, JobState.PREEMPTED, JobState.CANCELLED],
  [JobState.STARTING]: [JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED, JobState.RETRYING, JobState.PREEMPTED, JobState.CANCELLED],
  [JobState.RUNNING]: [JobState.SUCCEEDED, JobState.FAILED, JobState.RETRYING, JobState.PREEMPTED, JobState.CANCELLED],
  [JobState.SUCCEEDED]: [],
  [JobState.FAILED]: [JobState.PENDING],
  [JobState.CANCELLED]: [JobState.PENDING],
};

/** Waiting for a node: what a placement cycle looks at. */
export const QUEUED_STATES: readonly JobState[] = [JobState.PENDING, JobState.RETRYING, JobState.PREEMPTED];
/** On a node: holding resources there. */
export const ACTIVE_STATES: readonly JobState[] = [JobState.SCHEDULED, JobState.STARTING, JobState.RUNNING];
export const FINAL_STATES: readonly JobState[] = [JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED];

export class IllegalTransitionError extends Error {
  constructor(
    readonly jobId: string,
    readonly from: JobState,
    readonly to: JobState,
  ) {
    super(`Job ${jobId} cannot go from ${from} to ${to}`);
  }
}

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(jobId: string, from: JobState, to: JobState): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(jobId, from, to);
}
