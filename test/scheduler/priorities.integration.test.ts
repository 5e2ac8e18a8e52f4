// Priorities, preemption, cordon and drain, on simulated nodes (their jobs only wait: Nomad's mock driver).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJoinToken, startAgent, stopAgent, SUBMIT, waitForJob, type TestAgent } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';

describe('priorities and node maintenance', () => {
  let touchline: TestPlatform;
  const agents: TestAgent[] = [];
  const nodeId = async (name: string) =>
    (await touchline.gql(`{ nodes { nodes { id name } } }`)).data?.nodes.nodes.find((n: { name: string }) => n.name === name).id;

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', { env: { TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: '1' } });
    agents.push(await startAgent(touchline, { name: 'sim-a', joinToken: await createJoinToken(touchline), runtimes: 'simulated', cpuMillicores: 2000 }));
  });
  afterAll(async () => {
    for (const agent of agents) await stopAgent(agent);
    await touchline?.destroy();
  });

  const simulated = (seconds: number, extra: Record<string, unknown> = {}) => ({
    runtime: 'SIMULATED',
    command: ['simulate'],
    env: [{ name: 'TOUCHLINE_SIMULATED_SECONDS', value: String(seconds) }],
    resources: { cpuMillicores: 2000, memoryMiB: 256 },
    ...extra,
  });
  const submit = async (input: Record<string, unknown>) => (await touchline.gql(SUBMIT, { input })).data?.submitJob.job.id as string;

  it('lets a job 10 priority levels higher evict a running one, which runs again afterwards', async () => {
    const low = await submit(simulated(60, { priority: 10 }));
    await waitForJob(touchline, low, (job) => job.state === 'RUNNING');

    const notEnough = await submit(simulated(1, { priority: 19 }));
    const waiting = await waitForJob(touchline, notEnough, (job) => job.unschedulableReason !== null);
    expect(waiting.state).toBe('PENDING');
    expect((await waitForJob(touchline, low, () => true)).state).toBe('RUNNING');
    await touchline.gql(`mutation($id: ID!) { cancelJob(input: {id: $id}) { job { state } } }`, { id: notEnough });

    const urgent = await submit(simulated(1, { priority: 20 }));
    const preempted = await waitForJob(touchline, low, (job) => job.attempts.length === 1 && job.attempts[0].state === 'PREEMPTED');
    expect(preempted.attempts[0].reason).toBe(`preempted by higher-priority job ${urgent}`);
    expect(preempted.events.map((event: { toState: string }) => event.toState)).toContain('PREEMPTED');
    await waitForJob(touchline, urgent, (job) => job.state === 'SUCCEEDED');

    const again = await waitForJob(touchline, low, (job) => job.attempts.length === 2 && job.state === 'RUNNING');
    expect(again.failures).toBe(0);
    await touchline.gql(`mutation($id: ID!) { cancelJob(input: {id: $id}) { job { state } } }`, { id: low });
  });

  it('places nothing on a cordoned node until it is uncordoned', async () => {
    const id = await nodeId('sim-a');
    const cordoned = await touchline.gql(`mutation($id: ID!) { cordonNode(input: {id: $id}) { node { status cordoned } } }`, { id });
    expect(cordoned.data?.cordonNode.node).toEqual({ status: 'CORDONED', cordoned: true });
    const job = await submit(simulated(0.2));
    const waiting = await waitForJob(touchline, job, (j) => j.unschedulableReason !== null);
    expect(waiting.unschedulableReason).toMatch(/CORDONED/);
    await touchline.gql(`mutation($id: ID!) { uncordonNode(input: {id: $id}) { node { status } } }`, { id });
    await waitForJob(touchline, job, (j) => j.state === 'SUCCEEDED');
  });

  it('drains a node: no new jobs, and those still running at the deadline move to another node', async () => {
    const job = await submit(simulated(60));
    await waitForJob(touchline, job, (j) => j.state === 'RUNNING' && j.node?.name === 'sim-a');
    agents.push(await startAgent(touchline, { name: 'sim-b', joinToken: await createJoinToken(touchline), runtimes: 'simulated', cpuMillicores: 2000 }));

    const drained = await touchline.gql(`mutation($id: ID!) { drainNode(input: {id: $id, deadlineSeconds: 1}) { node { status drainDeadline } } }`, { id: await nodeId('sim-a') });
    expect(drained.data?.drainNode.node.status).toBe('DRAINING');
    const moved = await waitForJob(touchline, job, (j) => j.state === 'RUNNING' && j.node?.name === 'sim-b', 20_000);
    expect(moved.attempts.map((a: { state: string; node: { name: string } }) => [a.state, a.node.name])).toEqual([['PREEMPTED', 'sim-a'], ['RUNNING', 'sim-b']]);
    expect(moved.attempts[0].reason).toBe('its node sim-a was drained');
    const nodes = await touchline.gql(`{ nodes { nodes { name status jobs { nodes { id } } } } }`);
    expect(nodes.data?.nodes.nodes).toEqual([
      { name: 'sim-a', status: 'DRAINING', jobs: { nodes: [] } },
      { name: 'sim-b', status: 'READY', jobs: { nodes: [{ id: job }] } },
    ]);
    await touchline.gql(`mutation($id: ID!) { cancelJob(input: {id: $id}) { job { state } } }`, { id: job });
  });
});
