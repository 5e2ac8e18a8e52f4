// Jobs end to end through the gateway, on a real agent process with the process runtime: a command runs and
// succeeds with its logs; a failing one is retried with backoff, then FAILED; time limits; cancel kills the
// whole process group; idempotency keys; jobs that fit nowhere say why; registry model versions run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJoinToken, startAgent, stopAgent, SUBMIT, waitForJob, type TestAgent } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';

describe('jobs on a node agent (process runtime)', () => {
  let touchline: TestPlatform;
  let agent: TestAgent;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-jobs-'));

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', { env: { TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: '1' } });
    agent = await startAgent(touchline, { name: 'node-a', joinToken: await createJoinToken(touchline), cpuMillicores: 4000, memoryMiB: 4096 });
  });
  afterAll(async () => {
    if (agent) await stopAgent(agent);
    await touchline?.destroy();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const submit = async (input: Record<string, unknown>) => {
    const result = await touchline.gql(SUBMIT, { input });
    expect(result.errors).toBeUndefined();
    return result.data?.submitJob;
  };

  it('runs a command to SUCCEEDED, with its exit code and its output', async () => {
    const { job } = await submit({ name: 'hello', command: ['sh', '-c', 'echo "shots: 1234"; echo "warning: old data" >&2; echo done'] });
    expect(job).toMatchObject({ state: 'PENDING', runtime: 'PROCESS' });
    const done = await waitForJob(touchline, job.id, (j) => j.state === 'SUCCEEDED');
    expect(done).toMatchObject({ exitCode: 0, attempt: 1, attempts: [{ number: 1, state: 'SUCCEEDED', exitCode: 0, node: { name: 'node-a' } }] });
    expect(done.events.map((event: { toState: string }) => event.toState)).toEqual(['PENDING', 'SCHEDULED', 'STARTING', 'RUNNING', 'SUCCEEDED']);
    const logs = await touchline.gql(`query($id: ID!) { job(id: $id) { logs { stream text attempt } tail: logs(tail: 1) { text } } }`, { id: job.id });
    // Each stream keeps its order; between stdout and stderr (two pipes) there is no order to keep.
    const lines = logs.data?.job.logs as { stream: string; text: string; attempt: number }[];
    expect(lines.filter((line) => line.stream === 'STDOUT')).toEqual([
      { stream: 'STDOUT', text: 'shots: 1234', attempt: 1 },
      { stream: 'STDOUT', text: 'done', attempt: 1 },
    ]);
    expect(lines.filter((line) => line.stream === 'STDERR')).toEqual([{ stream: 'STDERR', text: 'warning: old data', attempt: 1 }]);
    expect(logs.data?.job.tail).toEqual([{ text: lines.at(-1)!.text }]);
  });

  it('retries a failing command with backoff, then marks it FAILED with the reason', async () => {
    const { job } = await submit({ command: ['sh', '-c', 'echo "attempt $TOUCHLINE_ATTEMPT"; exit 3'], retry: { maxAttempts: 3, backoffSeconds: 1, maxBackoffSeconds: 2 } });
    const failed = await waitForJob(touchline, job.id, (j) => j.state === 'FAILED', 30_000);
    expect(failed.attempts.map((a: { state: string; exitCode: number }) => [a.state, a.exitCode])).toEqual([['FAILED', 3], ['FAILED', 3], ['FAILED', 3]]);
    expect(failed.failures).toBe(3);
    expect(failed.reason).toMatch(/^exit code 3 \(attempt 3, 3 failure\(s\) of 3 allowed\)$/);
    const states = failed.events.map((event: { toState: string }) => event.toState);
    expect(states.filter((state: string) => state === 'RETRYING')).toHaveLength(2);
    const logs = await touchline.gql(`query($id: ID!) { job(id: $id) { logs { text attempt } } }`, { id: job.id });
    expect(logs.data?.job.logs).toEqual([1, 2, 3].map((n) => ({ text: `attempt ${n}`, attempt: n })));
  });

  it('stops an attempt at its time limit and says so', async () => {
    const { job } = await submit({ command: ['sleep', '30'], timeoutSeconds: 1, retry: { maxAttempts: 1 } });
    const failed = await waitForJob(touchline, job.id, (j) => j.state === 'FAILED');
    expect(failed.reason).toMatch(/^timed out after 1 s/);
  });

  it('cancels a running job and kills its whole process group', async () => {
    const pids = path.join(scratch, 'pids');
    const { job } = await submit({ command: ['sh', '-c', `sleep 300 & echo $! > ${pids}.child; echo $$ > ${pids}.parent; wait`] });
    await waitForJob(touchline, job.id, (j) => j.state === 'RUNNING');
    await waitFor(() => fs.existsSync(`${pids}.child`) && fs.existsSync(`${pids}.parent`));
    const processes = [`${pids}.parent`, `${pids}.child`].map((file) => Number(fs.readFileSync(file, 'utf8')));
    expect(processes.every(alive)).toBe(true);

    const cancelled = await touchline.gql(`mutation($id: ID!) { cancelJob(input: {id: $id, reason: "wrong match"}) { job { state reason } userErrors { message } } }`, { id: job.id });
    expect(cancelled.data?.cancelJob).toEqual({ job: { state: 'CANCELLED', reason: 'cancelled by bootstrap admin: wrong match' }, userErrors: [] });
    await waitFor(() => !processes.some(alive), 10_000);
    const after = await waitForJob(touchline, job.id, () => true);
    expect(after.attempts[0]).toMatchObject({ state: 'CANCELLED' });

    const again = await touchline.gql(`mutation($id: ID!) { cancelJob(input: {id: $id}) { userErrors { code message } } }`, { id: job.id });
    expect(again.data?.cancelJob.userErrors).toEqual([{ code: 'CONFLICT', message: expect.stringMatching(/already ended \(CANCELLED\)/) }]);
  });

  it('returns the same job for the same idempotency key, and refuses the key for another submission', async () => {
    const input = { command: ['true'], idempotencyKey: 'matchday-2024-05-19' };
    const first = await submit(input);
    const second = await submit(input);
    expect(second.job.id).toBe(first.job.id);
    const other = await submit({ ...input, command: ['false'] });
    expect(other.userErrors).toEqual([{ field: ['input', 'idempotencyKey'], message: 'This key was already used for a different submission', code: 'CONFLICT' }]);
    const jobs = await touchline.gql(`{ jobs(first: 100) { nodes { id } } }`);
    expect(jobs.data?.jobs.nodes.filter((j: { id: string }) => j.id === first.job.id)).toHaveLength(1);
  });

  it('keeps a job that fits nowhere PENDING and says why', async () => {
    const { job } = await submit({ command: ['true'], resources: { cpuMillicores: 64_000 } });
    const waiting = await waitForJob(touchline, job.id, (j) => j.unschedulableReason !== null);
    expect(waiting.state).toBe('PENDING');
    expect(waiting.unschedulableReason).toMatch(/^0\/1 nodes can run it: 1 /);
    expect(waiting.unschedulableReason).toMatch(/CPU/);

    const selected = await submit({ command: ['true'], nodeSelector: [{ key: 'gpu', value: 'a100' }] });
    const unmatched = await waitForJob(touchline, selected.job.id, (j) => j.unschedulableReason !== null);
    expect(unmatched.unschedulableReason).toMatch(/selector gpu=a100/);
    await touchline.gql(`mutation($id: ID!) { cancelJob(input: {id: $id}) { job { state } } }`, { id: job.id });
    await touchline.gql(`mutation($id: ID!) { cancelJob(input: {id: $id}) { job { state } } }`, { id: selected.job.id });
  });

  it('runs a registry model version by alias, with its command and resources, and resolves it through federation', async () => {
    await touchline.gql(`mutation { createModel(input: {name: "xg"}) { userErrors { message } } }`);
    await touchline.gql(`mutation { registerModelVersion(input: {model: "xg", version: "1.2.0", command: ["sh", "-c", "echo scoring with $MODEL"], resources: {cpuMillicores: 250, memoryMiB: 128}}) { userErrors { message } } }`);
    await touchline.gql(`mutation { setModelAlias(input: {model: "xg", alias: "champion", version: "1.2.0"}) { userErrors { message } } }`);
    const { job } = await submit({ modelVersion: { model: 'xg', alias: 'champion' }, env: [{ name: 'MODEL', value: 'xg' }] });
    const done = await waitForJob(touchline, job.id, (j) => j.state === 'SUCCEEDED');
    expect(done.exitCode).toBe(0);
    const federated = await touchline.gql(`query($id: ID!) { job(id: $id) { command resources { cpuMillicores memoryMiB } modelVersion { version stage model { name } } logs { text } } }`, { id: job.id });
    expect(federated.data?.job).toEqual({
      command: ['sh', '-c', 'echo scoring with $MODEL'],
      resources: { cpuMillicores: 250, memoryMiB: 128 },
      modelVersion: { version: '1.2.0', stage: 'NONE', model: { name: 'xg' } },
      logs: [{ text: 'scoring with xg' }],
    });
    const byModel = await touchline.gql(`{ jobs(filter: {model: "xg"}) { nodes { id } } }`);
    expect(byModel.data?.jobs.nodes).toEqual([{ id: job.id }]);
  });
});

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
