// Jobs end to end through the gateway, on a real agent process with the docker runtime and a real Docker Engine:
// an image runs to SUCCEEDED with its logs; a running job's container has the job's limits and host networking,
// and cancelling removes it; a missing image fails the job and says so; a registry model version runs in its image.
// Without an engine (or without busybox-static for the offline test image) the tests skip and say why.
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS } from '../../agent/runtimes/docker';
import { buildBusyboxImage, DOCKER_SOCKET, dockerTestsSkipReason, removeImage } from '../agent/docker-image';
import { skipUnlessAvailable } from '../support/requirements';
import { createJoinToken, startAgent, stopAgent, SUBMIT, waitForJob, type TestAgent } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';

const MiB = 1024 * 1024;
/** Names this run's node and image, so that its containers and image are told apart from any other run's. */
const RUN = `tljobs-${randomUUID().slice(0, 8)}`;
const NODE = `docker-${RUN}`;
const IMAGE = `touchline-test-busybox:${RUN}`;

const skipDocker = skipUnlessAvailable('docker', dockerTestsSkipReason(DOCKER_SOCKET));

describe.skipIf(skipDocker)('jobs on a node agent (docker runtime)', () => {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  let touchline: TestPlatform;
  let agent: TestAgent | undefined;
  let imageBuilt = false;
  /** Every job this file submits: its containers are the ones it must leave no trace of. */
  const jobIds = new Set<string>();

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', { env: { TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: '1' } });
    await buildBusyboxImage(docker, IMAGE);
    imageBuilt = true;
    const joinToken = await createJoinToken(touchline);
    agent = await startAgent(touchline, { name: NODE, joinToken, runtimes: 'docker', cpuMillicores: 4000, memoryMiB: 4096 });
  });
  afterAll(async () => {
    if (agent) await stopAgent(agent);
    // Whatever a failed test left behind; the last test asserts there was nothing.
    for (const container of await containersOfThisFile()) await docker.getContainer(container.Id).remove({ force: true });
    if (imageBuilt) await removeImage(docker, IMAGE);
    await touchline?.destroy();
  });

  /** Containers, running or not, of this file's jobs. */
  async function containersOfThisFile(filter: Record<string, string> = {}): Promise<Docker.ContainerInfo[]> {
    const labels = [`${LABELS.managed}=true`, ...Object.entries(filter).map(([name, value]) => `${name}=${value}`)];
    const containers = await docker.listContainers({ all: true, filters: { label: labels } });
    return containers.filter((container) => jobIds.has(container.Labels[LABELS.job] ?? ''));
  }

  const submit = async (input: Record<string, unknown>) => {
    const result = await touchline.gql(SUBMIT, { input });
    expect(result.errors).toBeUndefined();
    expect(result.data?.submitJob.userErrors).toEqual([]);
    const job = result.data?.submitJob.job;
    jobIds.add(job.id);
    return job;
  };

  const logsOf = async (id: string) => {
    const logs = await touchline.gql(`query($id: ID!) { job(id: $id) { logs { stream text attempt } } }`, { id });
    expect(logs.errors).toBeUndefined();
    return logs.data?.job.logs as { stream: string; text: string; attempt: number }[];
  };

  it('runs a command in the image to SUCCEEDED, with its exit code and its output', async () => {
    const job = await submit({
      name: 'hello-container',
      image: IMAGE,
      command: ['sh', '-c', 'echo hello from a container; echo warn >&2'],
      resources: { cpuMillicores: 500, memoryMiB: 64 },
    });
    expect(job).toMatchObject({ state: 'PENDING', runtime: 'DOCKER' });
    const done = await waitForJob(touchline, job.id, (j) => j.state === 'SUCCEEDED');
    expect(done).toMatchObject({ exitCode: 0, attempt: 1, attempts: [{ number: 1, state: 'SUCCEEDED', exitCode: 0, node: { name: NODE } }] });
    // Each stream keeps its order; between stdout and stderr (two pipes) there is no order to keep.
    const lines = await logsOf(job.id);
    expect(lines.filter((line) => line.stream === 'STDOUT')).toEqual([{ stream: 'STDOUT', text: 'hello from a container', attempt: 1 }]);
    expect(lines.filter((line) => line.stream === 'STDERR')).toEqual([{ stream: 'STDERR', text: 'warn', attempt: 1 }]);
  });

  it("runs a job in a container with the job's CPU and memory limits on the host's network; cancelling removes it", async () => {
    const job = await submit({ name: 'long-container', image: IMAGE, command: ['sleep', '300'], resources: { cpuMillicores: 250, memoryMiB: 48 } });
    const running = await waitForJob(touchline, job.id, (j) => j.state === 'RUNNING', 20_000, 'state attempts { id state }');
    const attemptId: string = running.attempts[0].id;

    const [container] = await waitForContainers({ [LABELS.attempt]: attemptId }, (found) => found.length === 1);
    const inspected = await docker.getContainer(container!.Id).inspect();
    expect(inspected.State.Running).toBe(true);
    expect(inspected.Config.Labels).toMatchObject({ [LABELS.job]: job.id, [LABELS.attempt]: attemptId, [LABELS.node]: NODE });
    expect(inspected.HostConfig).toMatchObject({ NanoCpus: 250_000_000, Memory: 48 * MiB, MemorySwap: 48 * MiB, NetworkMode: 'host' });

    const cancelled = await touchline.gql(`mutation($id: ID!) { cancelJob(input: {id: $id, reason: "wrong match"}) { job { state reason } userErrors { message } } }`, { id: job.id });
    expect(cancelled.data?.cancelJob).toEqual({ job: { state: 'CANCELLED', reason: 'cancelled by bootstrap admin: wrong match' }, userErrors: [] });
    await waitForContainers({ [LABELS.attempt]: attemptId }, (found) => found.length === 0, 15_000);
    const after = await waitForJob(touchline, job.id, () => true);
    expect(after).toMatchObject({ state: 'CANCELLED', attempts: [{ state: 'CANCELLED' }] });
  });

  it('fails a job whose image is not on the node, and says the image is missing', async () => {
    const missing = `touchline-test-missing:${RUN}`;
    const job = await submit({ image: missing, command: ['true'], resources: { cpuMillicores: 100, memoryMiB: 16 }, retry: { maxAttempts: 1 } });
    const failed = await waitForJob(touchline, job.id, (j) => j.state === 'FAILED');
    expect(failed.reason).toMatch(/^image missing on the node: /);
    expect(failed.reason).toContain(`image ${missing} is not on node ${NODE}`);
    expect(failed.attempts).toMatchObject([{ number: 1, state: 'FAILED', exitCode: null, reason: expect.stringMatching(/^image missing on the node/) }]);
  });

  it("runs a registry model version in its image, with the version's command", async () => {
    const created = await touchline.gql(`mutation { createModel(input: {name: "xg-container"}) { userErrors { message } } }`);
    expect(created.data?.createModel.userErrors).toEqual([]);
    const registered = await touchline.gql(
      `mutation($image: String!) { registerModelVersion(input: {model: "xg-container", version: "1.0.0", image: $image, command: ["sh", "-c", "echo scoring with $MODEL in a container"], resources: {cpuMillicores: 250, memoryMiB: 64}}) { userErrors { message } } }`,
      { image: IMAGE },
    );
    expect(registered.data?.registerModelVersion.userErrors).toEqual([]);

    const job = await submit({ modelVersion: { model: 'xg-container', version: '1.0.0' }, env: [{ name: 'MODEL', value: 'xg' }] });
    expect(job.runtime).toBe('DOCKER');
    const done = await waitForJob(touchline, job.id, (j) => j.state === 'SUCCEEDED');
    expect(done).toMatchObject({ exitCode: 0, attempts: [{ state: 'SUCCEEDED', node: { name: NODE } }] });
    const federated = await touchline.gql(`query($id: ID!) { job(id: $id) { image modelVersion { version model { name } } } }`, { id: job.id });
    expect(federated.data?.job).toEqual({ image: IMAGE, modelVersion: { version: '1.0.0', model: { name: 'xg-container' } } });
    expect(await logsOf(job.id)).toEqual([{ stream: 'STDOUT', text: 'scoring with xg in a container', attempt: 1 }]);
  });

  it('leaves no container of its jobs behind', async () => {
    expect(jobIds.size).toBeGreaterThan(0);
    const left = await waitForContainers({}, (found) => found.length === 0, 10_000).catch(() => containersOfThisFile());
    expect(left.map((container) => container.Labels[LABELS.job])).toEqual([]);
  });

  /** Polls the engine for this file's containers until `done` says so; fails with what it last saw. */
  async function waitForContainers(
    filter: Record<string, string>,
    done: (found: Docker.ContainerInfo[]) => boolean,
    timeoutMs = 10_000,
  ): Promise<Docker.ContainerInfo[]> {
    const deadline = Date.now() + timeoutMs;
    let found: Docker.ContainerInfo[] = [];
    while (Date.now() < deadline) {
      found = await containersOfThisFile(filter);
      if (done(found)) return found;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the containers of ${JSON.stringify(filter)} did not get there in ${timeoutMs} ms; last seen: ${JSON.stringify(found.map((c) => ({ id: c.Id, state: c.State, labels: c.Labels })))}`);
  }
});
