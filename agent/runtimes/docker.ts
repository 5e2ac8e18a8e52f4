// The Docker runtime: runs each attempt in its own container through the Docker Engine API (unix socket), with
// host networking, CPU, memory and GPU limits, follows its logs and exit, and removes the container afterwards.
import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '../../common/logger';
import type {
  AttemptExit,
  AttemptHandlers,
  AttemptSpec,
  ExitReason,
  LogLine,
  OrphanedAttempt,
  RunningAttempt,
  Runtime,
} from './runtime';

export interface DockerRuntimeOptions {
  /** The Docker Engine's unix socket; default /var/run/docker.sock. */
  socketPath?: string;
  /** This node's name: written on every container, so that `orphans()` finds only this node's. */
  nodeName: string;
  logger: Logger;
  /**
   * What to do when the image is not on the node: 'never' reports IMAGE_MISSING (the default: nodes are offline in
   * this release), 'if-missing' pulls it first.
   */
  pull?: 'never' | 'if-missing';
  /** Seconds between SIGTERM and SIGKILL when an attempt reaches its time limit (default 10). */
  timeoutGraceSeconds?: number;
  /** Seconds between SIGTERM and SIGKILL when an orphan is stopped (default 10). */
  orphanGraceSeconds?: number;
  /**
   * Run docker-init (tini) as the container's PID 1 (default true). A job's own program as PID 1 would ignore
   * SIGTERM unless it installs a handler, so every stop would wait out the whole grace period; tini forwards the
   * signal and reaps zombies. Needs docker-init on the node (Debian's docker.io ships it).
   */
  init?: boolean;
}

/** Labels written on every container this runtime creates. */
export const LABELS = {
  managed: 'touchline.managed',
  job: 'touchline.job',
  attempt: 'touchline.attempt',
  attemptNumber: 'touchline.attempt-number',
  node: 'touchline.node',
  /** The attempt's time limit, so that an adopted attempt keeps it. */
  timeoutSeconds: 'touchline.timeout-seconds',
} as const;

/** Longest line handed to `handlers.log`; longer output without a newline is cut into pieces this long. */
export const MAX_LOG_LINE_LENGTH = 64 * 1024;

/** How long to wait for the end of the log stream once the container has exited. */
const LOG_DRAIN_MS = 5_000;
/** How long to keep asking a silent engine about a container before giving up on it. */
const ENGINE_LOST_MS = 60_000;
const PING_TIMEOUT_MS = 3_000;

/**
 * The container a spec asks for, as the Engine API's create body.
 *
 * The command: with `spec.command`, the image's ENTRYPOINT is cleared and Cmd is the command followed by the args
 * (the command replaces the image's, whatever form the image gives it). Without a command, the image's own
 * ENTRYPOINT stays and the args are added after the image's CMD (`imageCmd`, read from the image), as the
 * AttemptSpec documents; with no args either, the image runs as built.
 *
 * GPUs: the assigned indices become an nvidia DeviceRequest and NVIDIA_VISIBLE_DEVICES. A CPU-only job gets
 * NVIDIA_VISIBLE_DEVICES=void: CUDA base images set it to `all`, which on a node whose default runtime is nvidia's
 * would hand the job every GPU, including those assigned to other jobs.
 */
export function containerOptions(
  spec: AttemptSpec,
  nodeName: string,
  options: { imageCmd?: string[] | null; init?: boolean } = {},
): Docker.ContainerCreateOptions {
  if (spec.image === null || spec.image === '') throw new Error(`attempt ${spec.attemptId} has no image`);
  const command = spec.command !== null && spec.command.length > 0 ? spec.command : null;
  const gpus = spec.gpuIndices.map(String);
  const env = { ...spec.env, NVIDIA_VISIBLE_DEVICES: gpus.length > 0 ? gpus.join(',') : 'void' };
  const labels: Record<string, string> = {
    [LABELS.managed]: 'true',
    [LABELS.job]: spec.jobId,
    [LABELS.attempt]: spec.attemptId,
    [LABELS.attemptNumber]: String(spec.attemptNumber),
    [LABELS.node]: nodeName,
  };
  if (spec.timeoutSeconds !== null) labels[LABELS.timeoutSeconds] = String(spec.timeoutSeconds);
  const memoryBytes = spec.memoryMiB * 1024 * 1024;

  return {
    name: containerName(spec.attemptId),
    Image: spec.image,
    ...(command !== null
      ? { Entrypoint: [], Cmd: [...command, ...spec.args] }
      : spec.args.length > 0
        ? { Cmd: [...(options.imageCmd ?? []), ...spec.args] }
        : {}),
    Env: Object.entries(env).map(([name, value]) => `${name}=${value}`),
    Labels: labels,
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    HostConfig: {
      // Always the host's network: a bridge would put containers on a private range, which is forbidden here.
      NetworkMode: 'host',
      Init: options.init ?? true,
      AutoRemove: false, // the exit code and the OOM flag are read first; the runtime removes the container
      RestartPolicy: { Name: 'no' },
      ...(spec.cpuMillicores > 0 ? { NanoCpus: Math.round(spec.cpuMillicores * 1e6) } : {}),
      ...(memoryBytes > 0 ? { Memory: memoryBytes, MemorySwap: memoryBytes } : {}),
      ...(gpus.length > 0
        ? { DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: gpus, Capabilities: [['gpu']] }] }
        : {}),
    },
  };
}

/** Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; the name only helps people reading `docker ps`. */
function containerName(attemptId: string): string {
  return `touchline-${attemptId.replace(/[^a-zA-Z0-9_.-]/g, '-')}`;
}

export class DockerRuntime implements Runtime {
  readonly name = 'docker' as const;
  private readonly docker: Docker;
  private readonly nodeName: string;
  private readonly logger: Logger;
  private readonly pull: 'never' | 'if-missing';
  private readonly timeoutGraceSeconds: number;
  private readonly orphanGraceSeconds: number;
  private readonly init: boolean;
  /** Containers this instance follows (started or adopted): never reported as orphans. */
  private readonly followed = new Map<string, ContainerAttempt | null>();

  constructor(options: DockerRuntimeOptions) {
    this.docker = new Docker({ socketPath: options.socketPath ?? '/var/run/docker.sock' });
    this.nodeName = options.nodeName;
    this.logger = options.logger.child({ runtime: 'docker' });
    this.pull = options.pull ?? 'never';
    this.timeoutGraceSeconds = options.timeoutGraceSeconds ?? 10;
    this.orphanGraceSeconds = options.orphanGraceSeconds ?? 10;
    this.init = options.init ?? true;
  }

  async available(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
      });
      await Promise.race([this.docker.ping(), timedOut]);
      return true;
    } catch (error) {
      this.logger.debug({ err: error }, 'the Docker engine does not answer');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async start(spec: AttemptSpec, handlers: AttemptHandlers): Promise<RunningAttempt> {
    const log = this.logger.child({ jobId: spec.jobId, attemptId: spec.attemptId, image: spec.image });
    try {
      return await this.createAndStart(spec, handlers, log);
    } catch (error) {
      log.error({ err: error }, 'could not start the attempt');
      return endedAttempt(spec.attemptId, { exitCode: null, reason: 'START_FAILED', message: engineMessage(error) });
    }
  }

  async orphans(): Promise<OrphanedAttempt[]> {
    let containers: Docker.ContainerInfo[];
    try {
      containers = await this.docker.listContainers({
        all: true,
        filters: { label: [`${LABELS.managed}=true`, `${LABELS.node}=${this.nodeName}`] },
      });
    } catch (error) {
      this.logger.error({ err: error }, 'could not list the containers left on this node');
      return [];
    }
    return containers.filter((info) => !this.followed.has(info.Id)).map((info) => this.orphan(info));
  }

  private async createAndStart(spec: AttemptSpec, handlers: AttemptHandlers, log: Logger): Promise<RunningAttempt> {
    if (spec.image === null || spec.image === '') {
      const exit: AttemptExit = { exitCode: null, reason: 'START_FAILED', message: 'a docker job needs an image' };
      return endedAttempt(spec.attemptId, exit);
    }
    const image = await this.findImage(spec.image, log);
    if ('exit' in image) return endedAttempt(spec.attemptId, image.exit);

    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(
        containerOptions(spec, this.nodeName, { imageCmd: image.cmd, init: this.init }),
      );
    } catch (error) {
      const missing = engineStatus(error) === 404;
      log.warn({ err: error }, missing ? 'the image is missing' : 'could not create the container');
      return endedAttempt(spec.attemptId, {
        exitCode: null,
        reason: missing ? 'IMAGE_MISSING' : 'START_FAILED',
        message: `could not create the container: ${engineMessage(error)}`,
      });
    }
    const containerLog = log.child({ containerId: container.id });
    this.followed.set(container.id, null);

    // Attached before the start so that no output is missed. (The logs API in follow mode loses a last line that has
    // no newline: dockerd 20.10 ends the stream before its log copier flushes it.) Paused until running() is called.
    const output = await attachOutput(container, containerLog);
    output?.pause();
    try {
      await container.start();
    } catch (error) {
      containerLog.warn({ err: error }, 'could not start the container');
      output?.destroy();
      await removeContainer(container, containerLog);
      this.followed.delete(container.id);
      return endedAttempt(spec.attemptId, {
        exitCode: null,
        reason: 'START_FAILED',
        message: `could not start the container: ${engineMessage(error)}`,
      });
    }
    containerLog.info('container started');
    callHandler(() => handlers.running(), containerLog);

    const attempt = new ContainerAttempt({
      attemptId: spec.attemptId,
      container,
      handlers,
      log: containerLog,
      origin: { kind: 'started', output },
      timeoutSeconds: spec.timeoutSeconds,
      timeoutGraceSeconds: this.timeoutGraceSeconds,
      memoryMiB: spec.memoryMiB,
    });
    this.followed.set(container.id, attempt);
    void attempt.exited.finally(() => this.followed.delete(container.id));
    return attempt;
  }

  /** The image's CMD if the image is here (pulling it first when allowed), or the exit to report. */
  private async findImage(image: string, log: Logger): Promise<{ cmd: string[] | null } | { exit: AttemptExit }> {
    const inspect = async () => (await this.docker.getImage(image).inspect()).Config?.Cmd ?? null;
    try {
      return { cmd: await inspect() };
    } catch (error) {
      if (engineStatus(error) !== 404) throw error;
    }
    if (this.pull === 'never') {
      log.warn('the image is not on this node and pulling is off');
      return {
        exit: {
          exitCode: null,
          reason: 'IMAGE_MISSING',
          message: `image ${image} is not on node ${this.nodeName} (pulling is off: load the image onto the node)`,
        },
      };
    }
    try {
      await this.pullImage(image);
      return { cmd: await inspect() };
    } catch (error) {
      log.warn({ err: error }, 'could not pull the image');
      return {
        exit: {
          exitCode: null,
          reason: 'IMAGE_MISSING',
          message: `image ${image} is not on node ${this.nodeName} and pulling it failed: ${engineMessage(error)}`,
        },
      };
    }
  }

  private async pullImage(image: string): Promise<void> {
    const stream = (await this.docker.pull(image)) as NodeJS.ReadableStream;
    const events = await new Promise<unknown[]>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (error, output) => (error ? reject(error) : resolve(output)));
    });
    // The engine reports pull failures inside the progress stream, not as an HTTP error.
    for (const event of events) {
      if (typeof event === 'object' && event !== null && 'error' in event) throw new Error(String(event.error));
    }
  }

  private orphan(info: Docker.ContainerInfo): OrphanedAttempt {
    const container = this.docker.getContainer(info.Id);
    const attemptId = info.Labels[LABELS.attempt] ?? '';
    const jobId = info.Labels[LABELS.job] ?? '';
    const log = this.logger.child({ jobId, attemptId, containerId: info.Id });
    const timeoutLabel = info.Labels[LABELS.timeoutSeconds];
    const timeout = timeoutLabel ? Number(timeoutLabel) : NaN;
    return {
      attemptId,
      jobId,
      adopt: (handlers) => {
        if (this.followed.has(info.Id)) return undefined;
        log.info({ state: info.State }, 'adopting a container left by an earlier agent');
        const attempt = new ContainerAttempt({
          attemptId,
          container,
          handlers,
          log,
          origin: { kind: 'adopted' },
          timeoutSeconds: Number.isFinite(timeout) ? timeout : null,
          timeoutGraceSeconds: this.timeoutGraceSeconds,
          memoryMiB: null,
        });
        this.followed.set(info.Id, attempt);
        void attempt.exited.finally(() => this.followed.delete(info.Id));
        return attempt;
      },
      stop: async () => {
        const adopted = this.followed.get(info.Id);
        if (adopted) return adopted.stop(this.orphanGraceSeconds);
        log.info('stopping a container left by an earlier agent');
        await stopContainer(container, this.orphanGraceSeconds, log);
        await removeContainer(container, log);
      },
    };
  }
}

interface ContainerAttemptOptions {
  attemptId: string;
  container: Docker.Container;
  handlers: AttemptHandlers;
  log: Logger;
  /**
   * Started by this runtime, with the output attached before the start (null when attaching failed); or adopted:
   * the attempt attaches itself, so only lines written from now on are reported (the earlier ones already were).
   */
  origin: { kind: 'started'; output: Readable | null } | { kind: 'adopted' };
  /** Counted from the container's start. */
  timeoutSeconds: number | null;
  timeoutGraceSeconds: number;
  /** For the message of an OOM kill; null when unknown (adopted). */
  memoryMiB: number | null;
}

/** Follows one container to its end: logs, time limit, exit code, removal. */
class ContainerAttempt implements RunningAttempt {
  readonly attemptId: string;
  readonly exited: Promise<AttemptExit>;
  private readonly container: Docker.Container;
  private readonly log: Logger;
  /** Why the runtime itself asked the container to stop, if it did. */
  private stopReason: 'STOPPED' | 'TIMEOUT' | null = null;
  private stopping: Promise<void> | null = null;
  /** The container has exited: a stop request now changes nothing. */
  private ended = false;
  private logStream: Readable | null = null;

  constructor(private readonly options: ContainerAttemptOptions) {
    this.attemptId = options.attemptId;
    this.container = options.container;
    this.log = options.log;
    this.exited = this.follow().catch((error: unknown) => {
      this.log.error({ err: error }, 'lost track of the container');
      const message = `lost track of the container: ${engineMessage(error)}`;
      return { exitCode: null, reason: this.stopReason ?? 'EXITED', message };
    });
  }

  async stop(graceSeconds = 10): Promise<void> {
    this.requestStop('STOPPED', graceSeconds);
    await this.exited;
  }

  private requestStop(reason: 'STOPPED' | 'TIMEOUT', graceSeconds: number): void {
    if (this.ended || this.stopping) return;
    this.stopReason = reason;
    this.log.info({ reason, graceSeconds }, 'stopping the container');
    this.stopping = stopContainer(this.container, graceSeconds, this.log);
  }

  private async follow(): Promise<AttemptExit> {
    const { output, startedAt } = await this.prepare();
    const logsDone = this.streamLogs(output);
    const timer = this.armTimeout(startedAt);
    let waitStatus: number | null;
    try {
      waitStatus = await this.waitForExit();
    } finally {
      timer?.cancel();
    }
    this.ended = true;
    await this.drainLogs(logsDone);
    const exit = await this.readExit(waitStatus);
    await this.stopping;
    await removeContainer(this.container, this.log);
    this.log.info(exit, 'attempt ended');
    return exit;
  }

  /** The output to follow and when the container started (an adopted one: as the engine says). */
  private async prepare(): Promise<{ output: Readable | null; startedAt: number }> {
    const { origin } = this.options;
    if (origin.kind === 'started') return { output: origin.output, startedAt: Date.now() };
    let state: Docker.ContainerInspectInfo['State'];
    try {
      state = (await this.container.inspect()).State;
    } catch (error) {
      this.log.warn({ err: error }, 'could not inspect the adopted container');
      return { output: null, startedAt: Date.now() };
    }
    const startedAt = Date.parse(state.StartedAt);
    // Attaching to a container that has exited would wait for its next start: only a running one is attached.
    const output = state.Running ? await attachOutput(this.container, this.log) : null;
    return { output, startedAt: Number.isFinite(startedAt) ? startedAt : Date.now() };
  }

  private armTimeout(startedAt: number): { cancel(): void } | null {
    const { timeoutSeconds } = this.options;
    if (timeoutSeconds === null) return null;
    return setDeadline(startedAt + timeoutSeconds * 1000, () => {
      this.log.info({ timeoutSeconds }, 'the attempt reached its time limit');
      this.requestStop('TIMEOUT', this.options.timeoutGraceSeconds);
    });
  }

  /** The wait API's status code; null when the engine could not be asked (it then polls the container's state). */
  private async waitForExit(): Promise<number | null> {
    try {
      const result = (await this.container.wait()) as { StatusCode?: number };
      return typeof result.StatusCode === 'number' ? result.StatusCode : null;
    } catch (error) {
      this.log.warn({ err: error }, 'waiting for the container failed; polling its state instead');
    }
    let lastAnswer = Date.now();
    for (;;) {
      await delay(1_000);
      try {
        if (!(await this.container.inspect()).State.Running) return null;
        lastAnswer = Date.now();
      } catch (error) {
        if (engineStatus(error) === 404) return null;
        if (Date.now() - lastAnswer > ENGINE_LOST_MS) {
          this.log.error({ err: error }, 'the Docker engine stopped answering about the container');
          return null;
        }
      }
    }
  }

  private async readExit(waitStatus: number | null): Promise<AttemptExit> {
    let state: Docker.ContainerInspectInfo['State'];
    try {
      state = (await this.container.inspect()).State;
    } catch (error) {
      this.log.error({ err: error }, 'could not read the exit of the container');
      return {
        exitCode: waitStatus,
        reason: this.stopReason ?? 'EXITED',
        message: `could not read the container's exit: ${engineMessage(error)}`,
      };
    }
    const exitCode = state.ExitCode;
    // Docker sets OOMKilled when any process of the container was killed; a job that survived that (exit 0) ran fine.
    if (state.OOMKilled && exitCode !== 0) {
      const limit = this.options.memoryMiB !== null ? ` (${this.options.memoryMiB} MiB)` : '';
      return { exitCode, reason: 'OOM_KILLED', message: `killed for exceeding its memory limit${limit}` };
    }
    const reason: ExitReason = this.stopReason ?? 'EXITED';
    const notes = [
      this.stopReason === 'TIMEOUT' ? `stopped at its time limit of ${this.options.timeoutSeconds} s` : null,
      this.stopReason === 'STOPPED' ? 'stopped on request' : null,
      state.OOMKilled ? 'a process of the container was killed for exceeding the memory limit' : null,
      state.Error ? state.Error : null,
    ].filter((note): note is string => note !== null);
    return notes.length > 0 ? { exitCode, reason, message: notes.join('; ') } : { exitCode, reason };
  }

  /** Resolves when the output has ended (at once without one); never rejects. */
  private async streamLogs(output: Readable | null): Promise<void> {
    if (output === null) return;
    this.logStream = output;
    const emit = (line: LogLine) => callHandler(() => this.options.handlers.log(line), this.log);
    const stdout = new LineSplitter('stdout', emit);
    const stderr = new LineSplitter('stderr', emit);
    const demuxer = new FrameDemuxer((kind, payload) => (kind === 'stdout' ? stdout : stderr).push(payload));
    await new Promise<void>((resolve) => {
      output.on('data', (chunk: Buffer) => demuxer.push(chunk));
      output.once('end', resolve);
      output.once('close', resolve);
      output.once('error', (error) => {
        this.log.warn({ err: error }, 'the container output stream failed');
        resolve();
      });
      output.resume();
    });
    stdout.flush();
    stderr.flush();
  }

  private async drainLogs(logsDone: Promise<void>): Promise<void> {
    const drained = await Promise.race([logsDone.then(() => true), delay(LOG_DRAIN_MS).then(() => false)]);
    if (drained) return;
    this.log.warn('the output stream did not end with the container; closing it');
    this.logStream?.destroy();
    await logsDone;
  }
}

/**
 * Splits the engine's multiplexed log stream (8-byte frame headers: stream type, 3 zero bytes, payload length) into
 * stdout and stderr payloads, synchronously, in the engine's order. docker-modem's demuxStream does the same but
 * writes into streams, whose buffering would let the end of the output overtake its last lines.
 */
class FrameDemuxer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: 'stdout' | 'stderr', payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) return;
      const kind = this.pending[0];
      const payload = this.pending.subarray(8, 8 + size);
      this.pending = this.pending.subarray(8 + size);
      if (kind === 1) this.onFrame('stdout', payload);
      else if (kind === 2) this.onFrame('stderr', payload);
    }
  }
}

/** Turns one stream's bytes into lines: partial lines wait for their end, the remainder is flushed at the end. */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(
    private readonly stream: LogLine['stream'],
    private readonly emit: (line: LogLine) => void,
  ) {}

  push(bytes: Buffer): void {
    const lines = (this.partial + this.decoder.write(bytes)).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.emitLine(line);
    while (this.partial.length >= MAX_LOG_LINE_LENGTH) {
      this.emitLine(this.partial.slice(0, MAX_LOG_LINE_LENGTH));
      this.partial = this.partial.slice(MAX_LOG_LINE_LENGTH);
    }
  }

  flush(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest !== '') this.emitLine(rest);
  }

  private emitLine(text: string): void {
    this.emit({ stream: this.stream, text: text.endsWith('\r') ? text.slice(0, -1) : text, at: new Date() });
  }
}

/** The container's stdout and stderr from now on, multiplexed; null (logged) when the engine refuses. */
async function attachOutput(container: Docker.Container, log: Logger): Promise<Readable | null> {
  try {
    return (await container.attach({ stream: true, stdout: true, stderr: true, logs: false })) as unknown as Readable;
  } catch (error) {
    log.warn({ err: error }, 'could not attach to the container output; its lines will not be reported');
    return null;
  }
}

/** A RunningAttempt for an attempt that never started: `exited` is already settled. */
function endedAttempt(attemptId: string, exit: AttemptExit): RunningAttempt {
  return { attemptId, exited: Promise.resolve(exit), stop: async () => {} };
}

/** docker stop: SIGTERM, then SIGKILL after the grace. Already stopped or gone is fine; other failures are logged. */
async function stopContainer(container: Docker.Container, graceSeconds: number, log: Logger): Promise<void> {
  try {
    await container.stop({ t: Math.max(0, Math.round(graceSeconds)) });
  } catch (error) {
    const status = engineStatus(error);
    if (status !== 304 && status !== 404) log.error({ err: error }, 'could not stop the container');
  }
}

async function removeContainer(container: Docker.Container, log: Logger): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    const status = engineStatus(error);
    // 404: already gone; 409: a removal is already under way.
    if (status !== 404 && status !== 409) log.error({ err: error }, 'could not remove the container');
  }
}

/** A handler that throws must not stop the runtime from following the container. */
function callHandler(call: () => void, log: Logger): void {
  try {
    call();
  } catch (error) {
    log.error({ err: error }, 'an attempt handler threw');
  }
}

/** Calls `onDeadline` at `deadline` (ms since the epoch), also when that is beyond setTimeout's 24.8-day range. */
function setDeadline(deadline: number, onDeadline: () => void): { cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return onDeadline();
    timer = setTimeout(arm, Math.min(remaining, 2 ** 31 - 1));
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The HTTP status of an Engine API error (dockerode sets `statusCode`). */
function engineStatus(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'statusCode' in error && typeof error.statusCode === 'number') {
    return error.statusCode;
  }
  return undefined;
}

/** The engine's own words when it gave some (dockerode puts them in `json.message`), else the error's message. */
function engineMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'json' in error) {
    const body: unknown = error.json;
    if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') {
      return body.message;
    }
  }
  return error instanceof Error ? error.message : String(error);
}
