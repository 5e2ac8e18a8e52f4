// The Docker runtime against a real Docker Engine on /var/run/docker.sock, with a busybox image built offline.
// Without an engine (or without /bin/busybox from busybox-static) the engine tests skip and say why.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { containerOptions, DockerRuntime, LABELS, MAX_LOG_LINE_LENGTH } from '../../agent/runtimes/docker';
import type { AttemptHandlers, AttemptSpec, LogLine } from '../../agent/runtimes/runtime';
import { silentLogger } from '../../common/logger';
import { buildBusyboxImage, DOCKER_SOCKET, dockerTestsSkipReason, removeImage } from './docker-image';
import { skipUnlessAvailable } from '../support/requirements';

const MiB = 1024 * 1024;
/** Every job id of this run starts with it: the tests find (and account for) their own containers by it. */
const RUN = `tltest-${randomUUID().slice(0, 8)}`;
const NODE = `${RUN}-node`;
const IMAGE = `touchline-test-busybox:${RUN}`;

let counter = 0;
function attemptSpec(overrides: Partial<AttemptSpec> = {}): AttemptSpec {
  counter += 1;
  return {
    attemptId: `${RUN}-attempt-${counter}`,
    jobId: `${RUN}-job-${counter}`,
    attemptNumber: 1,
    runtime: 'docker',
    image: IMAGE,
    command: null,
    args: [],
    env: {},
    cpuMillicores: 500,
    memoryMiB: 64,
    gpuIndices: [],
    timeoutSeconds: null,
    ...overrides,
  };
}

/** Handlers that remember what the runtime reported, in order. */
function recorder() {
  const events: string[] = [];
  const lines: LogLine[] = [];
  const handlers: AttemptHandlers = {
    log: (line) => {
      lines.push(line);
      events.push(`${line.stream}: ${line.text}`);
    },
    running: () => events.push('running'),
  };
  return { handlers, lines, events };
}

describe('containerOptions (no engine needed)', () => {
  const spec = attemptSpec({
    image: 'registry.example/xg:1.0.0',
    jobId: 'job-1',
    attemptId: 'attempt-1',
    attemptNumber: 3,
    command: ['python', 'serve.py'],
    args: ['--port', '8080'],
    env: { MODEL: 'xg' },
    cpuMillicores: 1500,
    memoryMiB: 512,
    timeoutSeconds: 600,
  });

  it('runs the command then the args, in place of the image entrypoint', () => {
    const options = containerOptions(spec, 'node-a');
    expect(options.Image).toBe('registry.example/xg:1.0.0');
    expect(options.Entrypoint).toEqual([]);
    expect(options.Cmd).toEqual(['python', 'serve.py', '--port', '8080']);
  });

  it("adds the args after the image's CMD without a command; runs the image as built without args", () => {
    const withArgs = containerOptions({ ...spec, command: null }, 'node-a', { imageCmd: ['serve'] });
    expect(withArgs.Entrypoint).toBeUndefined();
    expect(withArgs.Cmd).toEqual(['serve', '--port', '8080']);
    const asBuilt = containerOptions({ ...spec, command: null, args: [] }, 'node-a', { imageCmd: ['serve'] });
    expect(asBuilt.Entrypoint).toBeUndefined();
    expect(asBuilt.Cmd).toBeUndefined();
  });

  it('labels the container with the job, the attempt and the node', () => {
    expect(containerOptions(spec, 'node-a').Labels).toEqual({
      'touchline.managed': 'true',
      'touchline.job': 'job-1',
      'touchline.attempt': 'attempt-1',
      'touchline.attempt-number': '3',
      'touchline.node': 'node-a',
      'touchline.timeout-seconds': '600',
    });
  });

  it('uses host networking, CPU and memory limits without swap, and no auto-removal', () => {
    const host = containerOptions(spec, 'node-a').HostConfig;
    expect(host).toMatchObject({
      NetworkMode: 'host',
      NanoCpus: 1_500_000_000,
      Memory: 512 * MiB,
      MemorySwap: 512 * MiB,
      AutoRemove: false,
      Init: true,
    });
    expect(host?.DeviceRequests).toBeUndefined();
  });

  it('requests the assigned GPUs from the nvidia driver and names them in NVIDIA_VISIBLE_DEVICES', () => {
    const options = containerOptions({ ...spec, gpuIndices: [1, 3] }, 'node-a');
    expect(options.HostConfig?.DeviceRequests).toEqual([
      { Driver: 'nvidia', DeviceIDs: ['1', '3'], Capabilities: [['gpu']] },
    ]);
    expect(options.Env).toEqual(['MODEL=xg', 'NVIDIA_VISIBLE_DEVICES=1,3']);
  });

  it('hides every GPU from a CPU-only job, even when its image asks for all of them', () => {
    expect(containerOptions(spec, 'node-a').Env).toEqual(['MODEL=xg', 'NVIDIA_VISIBLE_DEVICES=void']);
  });
});

describe('DockerRuntime without an engine', () => {
  const nowhere = path.join(os.tmpdir(), `${RUN}-no-engine.sock`);
  const runtime = new DockerRuntime({ socketPath: nowhere, nodeName: NODE, logger: silentLogger });

  it('is not available', async () => {
    expect(await runtime.available()).toBe(false);
  });

  it('reports START_FAILED instead of throwing', async () => {
    const attempt = await runtime.start(attemptSpec(), recorder().handlers);
    expect(await attempt.exited).toMatchObject({ exitCode: null, reason: 'START_FAILED' });
    const noImage = await runtime.start(attemptSpec({ image: null }), recorder().handlers);
    expect(await noImage.exited).toMatchObject({ reason: 'START_FAILED', message: 'a docker job needs an image' });
  });

  it('finds no orphans', async () => {
    expect(await runtime.orphans()).toEqual([]);
  });
});

const skipDocker = skipUnlessAvailable('docker', dockerTestsSkipReason(DOCKER_SOCKET));

describe.skipIf(skipDocker)(`DockerRuntime on the engine at ${DOCKER_SOCKET}`, () => {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  const logRecords: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (record: string) => logRecords.push(JSON.parse(record)) });
  const runtime = new DockerRuntime({ nodeName: NODE, logger, timeoutGraceSeconds: 2, orphanGraceSeconds: 2 });

  /** This run's containers, running or not. */
  async function containersOfThisRun(filter: Record<string, string> = {}): Promise<Docker.ContainerInfo[]> {
    const labels = [`${LABELS.managed}=true`, ...Object.entries(filter).map(([name, value]) => `${name}=${value}`)];
    const containers = await docker.listContainers({ all: true, filters: { label: labels } });
    return containers.filter((container) => container.Labels[LABELS.job]?.startsWith(RUN));
  }

  beforeAll(async () => {
    await buildBusyboxImage(docker, IMAGE);
  });

  afterEach(async () => {
    const leftovers = await containersOfThisRun();
    await Promise.all(leftovers.map((container) => docker.getContainer(container.Id).remove({ force: true })));
    expect(leftovers.map((container) => container.Labels[LABELS.job]), 'containers left behind').toEqual([]);
  });

  afterAll(async () => {
    await removeImage(docker, IMAGE);
  });

  it('is available', async () => {
    expect(await runtime.available()).toBe(true);
  });

  it('runs a job: running, then its stdout and stderr lines in order, then EXITED with code 0', async () => {
    const record = recorder();
    const script = 'echo first; sleep 0.1; echo oops >&2; sleep 0.1; echo "second line"; printf "no newline"';
    const attempt = await runtime.start(attemptSpec({ command: ['sh', '-c', script] }), record.handlers);
    expect(await attempt.exited).toEqual({ exitCode: 0, reason: 'EXITED' });
    expect(record.events).toEqual([
      'running',
      'stdout: first',
      'stderr: oops',
      'stdout: second line',
      'stdout: no newline',
    ]);
    expect(record.lines.every((line) => line.at instanceof Date)).toBe(true);
  });

  it('delivers every line of a large output, in order, and cuts an endless line into pieces', async () => {
    const record = recorder();
    const script = 'seq 1 20000; head -c 150000 /dev/zero';
    const attempt = await runtime.start(attemptSpec({ command: ['sh', '-c', script] }), record.handlers);
    expect(await attempt.exited).toEqual({ exitCode: 0, reason: 'EXITED' });
    const numbers = record.lines.slice(0, 20000).map((line) => line.text);
    expect(numbers).toEqual(Array.from({ length: 20000 }, (_, index) => String(index + 1)));
    expect(record.lines.slice(20000).map((line) => line.text.length)).toEqual([
      MAX_LOG_LINE_LENGTH,
      MAX_LOG_LINE_LENGTH,
      150000 - 2 * MAX_LOG_LINE_LENGTH,
    ]);
  });

  it('reports the exit code of a failing command', async () => {
    const attempt = await runtime.start(attemptSpec({ command: ['sh', '-c', 'exit 7'] }), recorder().handlers);
    expect(await attempt.exited).toEqual({ exitCode: 7, reason: 'EXITED' });
  });

  it("adds the args after the image's own command when the job gives no command", async () => {
    const record = recorder();
    const attempt = await runtime.start(attemptSpec({ args: ['with', 'args'] }), record.handlers);
    expect(await attempt.exited).toEqual({ exitCode: 0, reason: 'EXITED' });
    expect(record.events).toEqual(['running', 'stdout: image-cmd with args']);
  });

  it('gives the container the CPU, memory, environment, labels and host network asked for', async () => {
    const spec = attemptSpec({
      command: ['sleep', '30'],
      cpuMillicores: 250,
      memoryMiB: 48,
      env: { MODEL: 'xg' },
      attemptNumber: 2,
    });
    const attempt = await runtime.start(spec, recorder().handlers);
    const [found] = await containersOfThisRun({ [LABELS.attempt]: spec.attemptId });
    const container = await docker.getContainer(found!.Id).inspect();
    expect(container.State.Running).toBe(true);
    expect(container.HostConfig).toMatchObject({
      NetworkMode: 'host',
      NanoCpus: 250_000_000,
      Memory: 48 * MiB,
      MemorySwap: 48 * MiB,
      AutoRemove: false,
    });
    expect(container.Config.Labels).toMatchObject({
      'touchline.managed': 'true',
      'touchline.job': spec.jobId,
      'touchline.attempt': spec.attemptId,
      'touchline.attempt-number': '2',
      'touchline.node': NODE,
    });
    expect(container.Config.Env).toEqual(expect.arrayContaining(['MODEL=xg', 'NVIDIA_VISIBLE_DEVICES=void']));
    expect(container.Config.Cmd).toEqual(['sleep', '30']);
    await attempt.stop(1);
  });

  it('shares the host network: the container reaches a server on the host loopback', async () => {
    const requests: string[] = [];
    const server = http.createServer((request, response) => {
      requests.push(request.url ?? '');
      response.end('pong\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const record = recorder();
      const url = `http://127.0.0.1:${port}/from-the-container`;
      const attempt = await runtime.start(attemptSpec({ command: ['wget', '-q', '-O', '-', url] }), record.handlers);
      expect(await attempt.exited).toEqual({ exitCode: 0, reason: 'EXITED' });
      expect(record.events).toEqual(['running', 'stdout: pong']);
      expect(requests).toEqual(['/from-the-container']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('stops a job at its time limit: TIMEOUT, and the container is gone', async () => {
    const startedAt = Date.now();
    const spec = attemptSpec({ command: ['sleep', '30'], timeoutSeconds: 1 });
    const attempt = await runtime.start(spec, recorder().handlers);
    const exit = await attempt.exited;
    expect(exit).toMatchObject({ reason: 'TIMEOUT', exitCode: 143 });
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(await containersOfThisRun({ [LABELS.attempt]: spec.attemptId })).toEqual([]);
  });

  it('stops a long job on request, quickly: STOPPED, and the container is gone', async () => {
    const spec = attemptSpec({ command: ['sleep', '300'] });
    const attempt = await runtime.start(spec, recorder().handlers);
    const stoppingAt = Date.now();
    await attempt.stop(10);
    // docker-init forwards SIGTERM to sleep, which ends at once: no waiting out the 10 s grace.
    expect(Date.now() - stoppingAt).toBeLessThan(3_000);
    expect(await attempt.exited).toEqual({ exitCode: 143, reason: 'STOPPED', message: 'stopped on request' });
    expect(await containersOfThisRun({ [LABELS.attempt]: spec.attemptId })).toEqual([]);
    await attempt.stop(); // again: nothing happens, nothing throws
    expect((await attempt.exited).reason).toBe('STOPPED');
  });

  it('reports IMAGE_MISSING for an image that is not on the node, without pulling or throwing', async () => {
    const record = recorder();
    const spec = attemptSpec({ image: `touchline-test-missing:${RUN}` });
    const attempt = await runtime.start(spec, record.handlers);
    const exit = await attempt.exited;
    expect(exit).toMatchObject({ exitCode: null, reason: 'IMAGE_MISSING' });
    expect(exit.message).toContain(`touchline-test-missing:${RUN} is not on node ${NODE}`);
    expect(record.events).toEqual([]);
    await attempt.stop(); // nothing to stop
  });

  it('reports IMAGE_MISSING with the pull error when pulling is allowed but fails', async () => {
    const pulling = new DockerRuntime({ nodeName: NODE, logger: silentLogger, pull: 'if-missing' });
    // Port 1 on the loopback: the pull fails at once, and no traffic leaves the machine.
    const spec = attemptSpec({ image: `127.0.0.1:1/touchline/missing:${RUN}` });
    const attempt = await pulling.start(spec, recorder().handlers);
    const exit = await attempt.exited;
    expect(exit).toMatchObject({ exitCode: null, reason: 'IMAGE_MISSING' });
    expect(exit.message).toMatch(/pulling it failed: .*connection refused/);
  });

  it('reports OOM_KILLED when the job goes over its memory limit', async () => {
    // tail keeps the whole of a line without newlines in memory: 200 MiB of zeros against a 32 MiB limit.
    const spec = attemptSpec({ command: ['sh', '-c', 'head -c 200m /dev/zero | tail'], memoryMiB: 32 });
    const attempt = await runtime.start(spec, recorder().handlers);
    expect(await attempt.exited).toEqual({
      exitCode: 137,
      reason: 'OOM_KILLED',
      message: 'killed for exceeding its memory limit (32 MiB)',
    });
  });

  it('reports START_FAILED with the engine message for a GPU job on a node without the nvidia runtime', async () => {
    // There is no GPU and no nvidia container runtime on this machine: the engine refuses the device request.
    // (containerOptions' tests above check the request itself.)
    const record = recorder();
    const spec = attemptSpec({ gpuIndices: [0], command: ['true'] });
    const attempt = await runtime.start(spec, record.handlers);
    const exit = await attempt.exited;
    expect(exit).toMatchObject({ exitCode: null, reason: 'START_FAILED' });
    expect(exit.message).toMatch(/could not select device driver .* with capabilities: \[\[gpu\]\]/);
    expect(record.events).toEqual([]);
    expect(logRecords).toContainEqual(
      expect.objectContaining({ level: 40, attemptId: spec.attemptId, msg: expect.stringMatching(/could not/) }),
    );
  });

  it('lists containers an earlier agent left on this node, adopts them and stops them', async () => {
    // What an earlier agent process on this node left behind, created as it would have created them.
    const leave = async (spec: AttemptSpec, nodeName = NODE) => {
      const container = await docker.createContainer(containerOptions(spec, nodeName));
      await container.start();
      return container;
    };
    const waiting = attemptSpec({
      command: ['sh', '-c', 'echo before; while [ ! -e /go ]; do sleep 0.05; done; echo after-adoption; exit 3'],
    });
    const finished = attemptSpec({ command: ['sh', '-c', 'echo before-adoption; exit 5'] });
    const long = attemptSpec({ command: ['sleep', '300'] });
    const limited = attemptSpec({ command: ['sleep', '300'], timeoutSeconds: 2 });
    const otherNode = attemptSpec({ command: ['sleep', '300'] });
    const waitingContainer = await leave(waiting);
    const finishedContainer = await leave(finished);
    await leave(long);
    await leave(limited);
    const otherNodeContainer = await leave(otherNode, `${NODE}-other`);
    await finishedContainer.wait();
    const own = await runtime.start(attemptSpec({ command: ['sleep', '300'] }), recorder().handlers);

    const orphans = await runtime.orphans();
    expect(orphans.map((orphan) => orphan.attemptId).sort()).toEqual(
      [waiting.attemptId, finished.attemptId, long.attemptId, limited.attemptId].sort(),
    );
    const orphanOf = (spec: AttemptSpec) => orphans.find((orphan) => orphan.attemptId === spec.attemptId)!;
    expect(orphanOf(waiting).jobId).toBe(waiting.jobId);

    // Adopted: only the lines written from now on, then the exit code.
    const followed = recorder();
    const adopted = orphanOf(waiting).adopt(followed.handlers)!;
    expect(orphanOf(waiting).adopt(recorder().handlers)).toBeUndefined();
    expect((await runtime.orphans()).map((orphan) => orphan.attemptId)).not.toContain(waiting.attemptId);
    await (await waitingContainer.exec({ Cmd: ['touch', '/go'] })).start({ Detach: true });
    expect(await adopted.exited).toEqual({ exitCode: 3, reason: 'EXITED' });
    expect(followed.events).toEqual(['stdout: after-adoption']);

    // Already ended while no agent watched: its exit code is still there to read.
    const late = recorder();
    expect(await orphanOf(finished).adopt(late.handlers)!.exited).toEqual({ exitCode: 5, reason: 'EXITED' });
    expect(late.events).toEqual([]);

    // The time limit still counts from the container's start.
    const limitedExit = await orphanOf(limited).adopt(recorder().handlers)!.exited;
    expect(limitedExit).toMatchObject({ exitCode: 143, reason: 'TIMEOUT' });

    const stoppingAt = Date.now();
    await orphanOf(long).stop();
    expect(Date.now() - stoppingAt).toBeLessThan(3_000);

    expect(await runtime.orphans()).toEqual([]);
    expect(await containersOfThisRun({ [LABELS.node]: NODE })).toHaveLength(1); // the runtime's own job
    await own.stop(1);
    await otherNodeContainer.remove({ force: true });
  });
});
