// Faults: an agent killed with SIGKILL while its job runs. Its node goes NOT_READY, the job runs again on
// another node and succeeds; when the agent comes back, its late report about the old attempt is refused and
// the process the old attempt left behind is stopped.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../support/graphql';
import { createJoinToken, startAgent, stopAgent, SUBMIT, waitForJob, type TestAgent } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';

describe('an agent killed while its job runs', () => {
  let touchline: TestPlatform;
  const agents: TestAgent[] = [];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-faults-'));

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', {
      env: { TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: '1', TOUCHLINE_HEARTBEAT_TIMEOUT_SECONDS: '3', TOUCHLINE_NODE_LOST_GRACE_SECONDS: '2' },
    });
    const joinToken = await createJoinToken(touchline);
    agents.push(await startAgent(touchline, { name: 'node-a', joinToken }));
    agents.push(await startAgent(touchline, { name: 'node-b', joinToken }));
  });
  afterAll(async () => {
    for (const agent of agents) await stopAgent(agent);
    await touchline?.destroy();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('moves the job to another node, refuses the old agent\'s late report, and stops what it left running', async () => {
    // The first attempt hangs (and says its pid); any later one finishes at once.
    const pidFile = path.join(scratch, 'first-attempt.pid');
    const script = `if [ "$TOUCHLINE_ATTEMPT" = 1 ]; then echo $$ > ${pidFile}; exec sleep 120; fi; echo "done on attempt $TOUCHLINE_ATTEMPT"`;
    const submitted = await touchline.gql(SUBMIT, { input: { command: ['sh', '-c', script] } });
    const jobId = submitted.data?.submitJob.job.id;
    const running = await waitForJob(touchline, jobId, (job) => job.state === 'RUNNING');
    const firstNode = running.node.name as string;
    const victim = agents.find((agent) => agent.name === firstNode)!;
    await waitUntil(() => fs.existsSync(pidFile));
    const orphanPid = Number(fs.readFileSync(pidFile, 'utf8'));

    process.kill(victim.process.pid, 'SIGKILL');
    await victim.process.exited;

    const node = async () =>
      (await touchline.gql(`{ nodes { nodes { name status } } }`)).data?.nodes.nodes.find((n: { name: string }) => n.name === firstNode);
    await waitUntil(async () => (await node())?.status === 'NOT_READY', 10_000);

    const done = await waitForJob(touchline, jobId, (job) => job.state === 'SUCCEEDED', 30_000);
    expect(done.attempts).toEqual([
      { number: 1, state: 'LOST', exitCode: null, reason: `its node ${firstNode} stopped answering`, node: { name: firstNode } },
      { number: 2, state: 'SUCCEEDED', exitCode: 0, reason: 'exit code 0', node: { name: expect.not.stringMatching(firstNode) } },
    ]);
    expect((await node())?.status).toBe('DOWN');

    // The old agent's late report, with its node credential and the old attempt's fencing token, is refused.
    const credential = JSON.parse(fs.readFileSync(path.join(victim.stateDir, 'credential.json'), 'utf8')).credential;
    const record = fs.readdirSync(path.join(victim.stateDir, 'attempts')).map((file) => JSON.parse(fs.readFileSync(path.join(victim.stateDir, 'attempts', file), 'utf8')))[0];
    const late = await graphql(
      touchline.url,
      `mutation($input: ReportAttemptInput!) { reportAttempt(input: $input) { accepted stop } }`,
      { input: { attemptId: record.attemptId, token: record.token, event: 'EXITED', reason: 'EXITED', exitCode: 0 } },
      { key: credential },
    );
    expect(late.data?.reportAttempt).toEqual({ accepted: false, stop: true });

    // The agent comes back: it stops what the old attempt left running, and its node is READY again.
    expect(alive(orphanPid)).toBe(true);
    agents.splice(agents.indexOf(victim), 1, await victim.restart());
    await waitUntil(() => !alive(orphanPid), 10_000);
    await waitUntil(async () => (await node())?.status === 'READY', 10_000);
    const after = await waitForJob(touchline, jobId, () => true);
    expect(after.state).toBe('SUCCEEDED');
    expect(after.attempts.map((attempt: { state: string }) => attempt.state)).toEqual(['LOST', 'SUCCEEDED']);
  });
});

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
