// The agent hears of its assignments by subscription, not only at its next heartbeat: with heartbeats 30 s apart, a
// submitted job starts on the node within a few seconds, and a cancelled one stops as quickly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJoinToken, startAgent, stopAgent, SUBMIT, waitForJob, type TestAgent } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';

const HEARTBEAT_INTERVAL_SECONDS = 30;
/** Far less than the heartbeat interval: only the subscription can explain a reaction this fast. */
const PROMPT_MS = 6_000;

describe('assignments by subscription (long heartbeat interval)', () => {
  let touchline: TestPlatform;
  let agent: TestAgent;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-watch-'));

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', {
      env: {
        TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: String(HEARTBEAT_INTERVAL_SECONDS),
        // The node must stay READY between heartbeats this far apart.
        TOUCHLINE_HEARTBEAT_TIMEOUT_SECONDS: String(HEARTBEAT_INTERVAL_SECONDS * 4),
      },
    });
    agent = await startAgent(touchline, { name: 'node-w', joinToken: await createJoinToken(touchline) });
    await agent.process.waitFor(/"msg":"watching this node's assignments"/);
    // Let the start-up heartbeats pass: the next one is now about 30 s away.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  });
  afterAll(async () => {
    if (agent) await stopAgent(agent);
    await touchline?.destroy();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('starts a submitted job within seconds and stops it as soon as it is cancelled', async () => {
    const pidFile = path.join(scratch, 'pid');
    const submittedAt = Date.now();
    const submitted = await touchline.gql(SUBMIT, { input: { name: 'watch', command: ['sh', '-c', `echo $$ > ${pidFile}; exec sleep 300`] } });
    expect(submitted.data?.submitJob.userErrors).toEqual([]);
    const id = submitted.data?.submitJob.job.id as string;

    const running = await waitForJob(touchline, id, (job) => job.state === 'RUNNING', PROMPT_MS);
    expect(running.node).toEqual({ name: 'node-w' });
    expect(Date.now() - submittedAt).toBeLessThan(PROMPT_MS);
    await waitUntil(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim() !== '', PROMPT_MS);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(alive(pid)).toBe(true);

    const cancelledAt = Date.now();
    const cancelled = await touchline.gql(`mutation($id: ID!) { cancelJob(input: {id: $id}) { job { state } userErrors { message } } }`, { id });
    expect(cancelled.data?.cancelJob).toEqual({ job: { state: 'CANCELLED' }, userErrors: [] });
    await waitUntil(() => !alive(pid), PROMPT_MS);
    expect(Date.now() - cancelledAt).toBeLessThan(PROMPT_MS);
  });

  it('stops cleanly, closing its subscription', async () => {
    expect(await agent.process.stop()).toBe(0);
    expect(agent.process.output()).not.toMatch(/"level":50/);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not so after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
