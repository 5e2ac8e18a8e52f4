// The job state machine and the retry backoff, without a database.
import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../subgraphs/scheduler/agent-api/agent.service';
import { assertTransition, canTransition, IllegalTransitionError, JobState } from '../../subgraphs/scheduler/job/job-state';

describe('job states', () => {
  it('follows PENDING -> SCHEDULED -> STARTING -> RUNNING -> SUCCEEDED', () => {
    const path = [JobState.PENDING, JobState.SCHEDULED, JobState.STARTING, JobState.RUNNING, JobState.SUCCEEDED];
    for (let i = 1; i < path.length; i++) expect(canTransition(path[i - 1]!, path[i]!)).toBe(true);
  });

  it.each([
    [JobState.PENDING, JobState.RUNNING],
    [JobState.PENDING, JobState.SUCCEEDED],
    [JobState.SUCCEEDED, JobState.PENDING],
    [JobState.SUCCEEDED, JobState.FAILED],
    [JobState.FAILED, JobState.RUNNING],
    [JobState.CANCELLED, JobState.SCHEDULED],
    [JobState.RETRYING, JobState.RUNNING],
    [JobState.PREEMPTED, JobState.SUCCEEDED],
    [JobState.RUNNING, JobState.PENDING],
  ])('refuses %s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    expect(() => assertTransition('job-1', from, to)).toThrow(IllegalTransitionError);
    expect(() => assertTransition('job-1', from, to)).toThrow(`Job job-1 cannot go from ${from} to ${to}`);
  });

  it('lets a failed or cancelled job be queued again, and a succeeded one not', () => {
    expect(canTransition(JobState.FAILED, JobState.PENDING)).toBe(true);
    expect(canTransition(JobState.CANCELLED, JobState.PENDING)).toBe(true);
    expect(canTransition(JobState.SUCCEEDED, JobState.PENDING)).toBe(false);
  });

  it('lets every state before the end be cancelled, and no final one', () => {
    for (const state of Object.values(JobState)) {
      const final = [JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED].includes(state);
      expect(canTransition(state, JobState.CANCELLED), state).toBe(!final);
    }
  });
});

describe('retry backoff', () => {
  const policy = { backoffSeconds: 10, maxBackoffSeconds: 60 };

  it('doubles after each failure, with jitter between half and all of it, up to the maximum', () => {
    expect(backoffMs({ ...policy, failures: 1 }, () => 0)).toBe(5_000);
    expect(backoffMs({ ...policy, failures: 1 }, () => 0.999999)).toBe(10_000);
    expect(backoffMs({ ...policy, failures: 2 }, () => 0.999999)).toBe(20_000);
    expect(backoffMs({ ...policy, failures: 3 }, () => 0.999999)).toBe(40_000);
    expect(backoffMs({ ...policy, failures: 4 }, () => 0.999999)).toBe(60_000);
    expect(backoffMs({ ...policy, failures: 30 }, () => 0)).toBe(30_000);
  });

  it('spreads retries of many jobs across the window', () => {
    const delays = Array.from({ length: 1000 }, () => backoffMs({ ...policy, failures: 2 }));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(10_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(20_000);
    expect(new Set(delays.map((delay) => Math.floor(delay / 1000))).size).toBeGreaterThan(5);
  });
});
