// GPU jobs on an agent whose GPUs come from nvidia-smi: a fake one, since no GPU exists on this machine. The
// scheduler gives each job individual GPUs with enough memory, never one GPU to two jobs, and the process
// runtime shows a job only its own GPUs (CUDA_VISIBLE_DEVICES).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJoinToken, startAgent, stopAgent, SUBMIT, waitForJob, type TestAgent } from '../support/agents';
import { fakeNvidiaSmi } from '../support/fake-nvidia-smi';
import { startTestPlatform, type TestPlatform } from '../support/platform';

describe('GPU jobs (fake nvidia-smi: no GPU exists here)', () => {
  let touchline: TestPlatform;
  let agent: TestAgent;
  const fake = fakeNvidiaSmi();

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', { env: { TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: '1' } });
    agent = await startAgent(touchline, {
      name: 'dgx-1',
      joinToken: await createJoinToken(touchline),
      detectGpus: true,
      env: { PATH: `${fake.dir}:${process.env.PATH}` },
    });
  });
  afterAll(async () => {
    if (agent) await stopAgent(agent);
    await touchline?.destroy();
    fake.remove();
  });

  it('reports the GPUs nvidia-smi lists', async () => {
    const nodes = await touchline.gql(`{ nodes { nodes { name capacity { gpus { index model memoryMiB } } } } }`);
    expect(nodes.data?.nodes.nodes[0].capacity.gpus).toEqual([
      { index: 0, model: 'NVIDIA A100-SXM4-40GB', memoryMiB: 40960 },
      { index: 1, model: 'NVIDIA A100-SXM4-80GB', memoryMiB: 81920 },
    ]);
  });

  it('gives a job a GPU with enough memory, shows it only that one, and keeps it from other jobs', async () => {
    const big = { command: ['sh', '-c', 'echo "gpus=$CUDA_VISIBLE_DEVICES"; sleep 2'], resources: { gpuCount: 1, gpuMemoryMiB: 60_000, cpuMillicores: 100 } };
    const first = (await touchline.gql(SUBMIT, { input: big })).data?.submitJob.job.id;
    const running = await waitForJob(touchline, first, (job) => job.state === 'RUNNING', 20_000, 'state node { allocated { gpuIndices } }');
    expect(running.node.allocated.gpuIndices).toEqual([1]);

    const second = (await touchline.gql(SUBMIT, { input: big })).data?.submitJob.job.id;
    const waiting = await waitForJob(touchline, second, (job) => job.unschedulableReason !== null, 10_000, 'state unschedulableReason');
    expect(waiting.state).toBe('PENDING');
    expect(waiting.unschedulableReason).toMatch(/GPU/);

    const small = (await touchline.gql(SUBMIT, { input: { ...big, resources: { gpuCount: 1, gpuMemoryMiB: 16_000, cpuMillicores: 100 } } })).data?.submitJob.job.id;
    await waitForJob(touchline, small, (job) => job.state === 'SUCCEEDED');
    await waitForJob(touchline, first, (job) => job.state === 'SUCCEEDED');
    await waitForJob(touchline, second, (job) => job.state === 'SUCCEEDED');
    const logs = async (id: string) => (await touchline.gql(`query($id: ID!) { job(id: $id) { logs { text } } }`, { id })).data?.job.logs;
    expect(await logs(first)).toEqual([{ text: 'gpus=1' }]);
    expect(await logs(small)).toEqual([{ text: 'gpus=0' }]);
  });
});
