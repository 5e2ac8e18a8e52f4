// Runs an attempt as a plain process on the node, like Nomad's raw_exec: no shell, its own process group, a minimal
// environment and its own working folder. It isolates nothing and enforces no CPU or memory limit.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '../../common/logger';
import type {
  AttemptExit,
  AttemptHandlers,
  AttemptSpec,
  LogLine,
  OrphanedAttempt,
  Runtime,
  RunningAttempt,
} from './runtime';

/** The PATH attempts get unless told otherwise: the agent's own environment is never passed on. */
export const DEFAULT_SEARCH_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Longer lines are cut into pieces of at most this many bytes, so one runaway line cannot exhaust memory. */
export const MAX_LINE_BYTES = 16 * 1024;

/** How long to wait, once the attempt's first process has exited, for its output pipes to close. */
const OUTPUT_DRAIN_MS = 2_000;
/** How long an orphan's group may take to vanish after SIGKILL before we give up waiting. */
const ORPHAN_KILL_WAIT_MS = 5_000;
const ORPHAN_POLL_MS = 100;
/** setTimeout fires at once for longer delays; longer time limits are waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Attempt ids name files and folders: nothing that could climb out of the state or work folder. */
const SAFE_ATTEMPT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface ProcessRuntimeOptions {
  /** Each attempt works in `<workRoot>/<attemptId>`, created empty for it. */
  workRoot: string;
  /** Where running attempts are recorded (`<attemptId>.json`) so that a restarted agent finds them. */
  stateDir: string;
  logger: Logger;
  /** Keep each attempt's working folder once it has ended (to look at what it wrote); default false. */
  keepAttemptFolders?: boolean;
  /** Between SIGTERM and SIGKILL when an attempt reaches its time limit or an orphan is stopped; default 10. */
  killGraceSeconds?: number;
  /** The PATH attempts see, also used to find the program; default DEFAULT_SEARCH_PATH. */
  searchPath?: string;
}

/** What the state folder records about a running attempt. */
interface AttemptRecord {
  attemptId: string;
  jobId: string;
  pid: number;
  pgid: number;
  startedAt: string;
  /** The kernel's start time of `pid` (Linux /proc), to tell our process from a later one given the same pid. */
  processStartTicks: string | null;
}

/**
 * How attempts end: EXITED with the code of the first process; EXITED with a null code and "killed by SIG..." when a
 * signal we did not send ended it; TIMEOUT or STOPPED (with whatever code or signal followed) when we ended it.
 * Whatever the first process leaves running in its group is killed when it exits, as in a container.
 */
export class ProcessRuntime implements Runtime {
  readonly name = 'process' as const;
  private readonly workRoot: string;
  private readonly stateDir: string;
  private readonly logger: Logger;
  private readonly keepAttemptFolders: boolean;
  private readonly killGraceMs: number;
  private readonly searchPath: string;
  /** Attempts this instance is starting or running, by id. */
  private readonly ownAttempts = new Set<string>();
  private limitsNoted = false;

  constructor(options: ProcessRuntimeOptions) {
    this.workRoot = path.resolve(options.workRoot);
    this.stateDir = path.resolve(options.stateDir);
    this.logger = options.logger;
    this.keepAttemptFolders = options.keepAttemptFolders ?? false;
    this.killGraceMs = graceMs(options.killGraceSeconds, 10);
    this.searchPath = options.searchPath ?? DEFAULT_SEARCH_PATH;
  }

  /** Process groups (signals to a negative pid) are POSIX only. */
  async available(): Promise<boolean> {
    return process.platform !== 'win32';
  }

  async start(spec: AttemptSpec, handlers: AttemptHandlers): Promise<RunningAttempt> {
    const problem = specProblem(spec);
    if (problem) return this.startFailed(spec, `invalid attempt: ${problem}`);
    const { attemptId } = spec;
    if (this.ownAttempts.has(attemptId)) return this.startFailed(spec, `attempt ${attemptId} is already running`);
    this.ownAttempts.add(attemptId);
    try {
      return await this.launch(spec, handlers);
    } catch (error) {
      this.ownAttempts.delete(attemptId);
      const reason = error instanceof StartFailure ? error.message : `could not start: ${errorMessage(error)}`;
      return this.startFailed(spec, reason);
    }
  }

  async orphans(): Promise<OrphanedAttempt[]> {
    let names: string[];
    try {
      names = await fs.promises.readdir(this.stateDir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    const found: OrphanedAttempt[] = [];
    for (const name of names) {
      const attemptId = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
      // Not ours to judge: other files, and the records of attempts this instance is itself running.
      if (!SAFE_ATTEMPT_ID.test(attemptId) || this.ownAttempts.has(attemptId)) continue;
      const record = await this.readRecord(attemptId);
      if (record && (await isStillRunning(record))) {
        found.push(this.orphan(record));
        continue;
      }
      this.logger.info({ attemptId }, 'process runtime: forgetting an attempt that is no longer running');
      await this.forget(attemptId);
    }
    return found;
  }

  private async launch(spec: AttemptSpec, handlers: AttemptHandlers): Promise<RunningAttempt> {
    const { attemptId } = spec;
    const folder = path.join(this.workRoot, attemptId);
    const [program, ...commandArgs] = spec.command as [string, ...string[]];
    this.noteUnenforcedLimits(spec);

    await fs.promises.mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    const earlier = await this.readRecord(attemptId);
    if (earlier && (await isStillRunning(earlier))) {
      throw new StartFailure(`attempt ${attemptId} is still running, left by an earlier agent (see orphans())`);
    }
    const failStart = async (message: string): Promise<never> => {
      await this.forget(attemptId);
      throw new StartFailure(message);
    };
    try {
      await fs.promises.rm(folder, { recursive: true, force: true });
      await fs.promises.mkdir(path.join(folder, 'tmp'), { recursive: true, mode: 0o700 });
    } catch (error) {
      await failStart(`could not make the working folder ${folder}: ${errorMessage(error)}`);
    }
    let child: ChildProcess;
    try {
      child = spawn(program, [...commandArgs, ...spec.args], {
        cwd: folder,
        env: this.environment(spec, folder),
        shell: false,
        // Its own session and process group, so that stopping it reaches everything it started.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (error) {
      return failStart(`could not start ${program}: ${errorMessage(error)}`);
    }
    const spawnError = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    const pid = child.pid;
    if (spawnError || pid === undefined) {
      return failStart(describeSpawnError(program, spawnError, this.searchPath));
    }

    // Followed at once: its exit must not pass unseen while the record is being written.
    let recorded: Promise<void> = Promise.resolve();
    const attempt = new ProcessAttempt(spec, child, pid, handlers, {
      logger: this.logger,
      killGraceMs: this.killGraceMs,
      cleanUp: async () => {
        await recorded;
        await this.forget(attemptId);
        this.ownAttempts.delete(attemptId);
      },
    });
    recorded = this.record(spec, pid);
    this.logger.info({ attemptId, jobId: spec.jobId, pid }, 'process runtime: attempt started');
    callHandler(this.logger, attemptId, () => handlers.running());
    await recorded;
    return attempt;
  }

  /** A minimal environment: nothing of the agent's own (its secrets) reaches the attempt. */
  private environment(spec: AttemptSpec, folder: string): Record<string, string> {
    return {
      PATH: this.searchPath,
      HOME: folder,
      TMPDIR: path.join(folder, 'tmp'),
      LANG: 'C.UTF-8',
      // Python buffers stdout when it is a pipe; without this, a job's logs arrive in bursts or not at all.
      PYTHONUNBUFFERED: '1',
      ...spec.env,
      // Set last: a job cannot claim another identity or GPUs it was not given.
      TOUCHLINE_JOB_ID: spec.jobId,
      TOUCHLINE_ATTEMPT_ID: spec.attemptId,
      TOUCHLINE_ATTEMPT: String(spec.attemptNumber),
      // Empty for CPU jobs: CUDA then sees no GPU at all, rather than all of them.
      CUDA_VISIBLE_DEVICES: spec.gpuIndices.join(','),
    };
  }

  /**
   * Limits need cgroups, which this runtime does not use: rlimits cannot express them (RLIMIT_AS counts reserved
   * address space, which CUDA and the JVM reserve by the terabyte; RLIMIT_CPU is CPU seconds, not a share).
   */
  private noteUnenforcedLimits(spec: AttemptSpec): void {
    if (this.limitsNoted) return;
    this.limitsNoted = true;
    this.logger.debug(
      { cpuMillicores: spec.cpuMillicores, memoryMiB: spec.memoryMiB },
      'process runtime: CPU and memory limits are not enforced for plain processes',
    );
  }

  private startFailed(spec: AttemptSpec, message: string): RunningAttempt {
    const attemptId = String(spec.attemptId);
    this.logger.warn({ attemptId, jobId: spec.jobId }, `process runtime: ${message}`);
    return {
      attemptId,
      exited: Promise.resolve({ exitCode: null, reason: 'START_FAILED', message }),
      stop: async () => {},
    };
  }

  private orphan(record: AttemptRecord): OrphanedAttempt {
    let stopping: Promise<void> | undefined;
    return {
      attemptId: record.attemptId,
      jobId: record.jobId,
      // Its parent (the earlier agent) is gone: no exit status to wait for, no pipes to read.
      adopt: () => undefined,
      stop: () => (stopping ??= this.stopOrphan(record)),
    };
  }

  private async stopOrphan(record: AttemptRecord): Promise<void> {
    const { attemptId, pgid } = record;
    if (await isStillRunning(record)) {
      this.logger.info({ attemptId, pgid }, 'process runtime: stopping an attempt left by an earlier agent');
      signalGroup(pgid, 'SIGTERM');
      if (!(await waitUntilEnded(record, this.killGraceMs))) {
        // Checked again just before: the group must still be the one we recorded.
        if (await isStillRunning(record)) signalGroup(pgid, 'SIGKILL');
        if (!(await waitUntilEnded(record, ORPHAN_KILL_WAIT_MS))) {
          this.logger.warn({ attemptId, pgid }, 'process runtime: an orphaned attempt survived SIGKILL');
        }
      }
    }
    await this.forget(attemptId);
  }

  /** Records a started attempt; a failure is logged: the attempt runs on, but a restarted agent will not find it. */
  private async record(spec: AttemptSpec, pid: number): Promise<void> {
    try {
      await this.writeRecord({
        attemptId: spec.attemptId,
        jobId: spec.jobId,
        pid,
        pgid: pid,
        startedAt: new Date().toISOString(),
        processStartTicks: (await processStatus(pid))?.startTicks ?? null,
      });
    } catch (error) {
      this.logger.error(
        { attemptId: spec.attemptId, err: error },
        'process runtime: could not record the attempt; a restarted agent will not find it',
      );
    }
  }

  private recordFile(attemptId: string): string {
    return path.join(this.stateDir, `${attemptId}.json`);
  }

  private async writeRecord(record: AttemptRecord): Promise<void> {
    const file = this.recordFile(record.attemptId);
    // Written aside then renamed, so an agent that dies mid-write leaves no half record.
    const partial = `${file}.${process.pid}.partial`;
    await fs.promises.writeFile(partial, JSON.stringify(record), { mode: 0o600 });
    await fs.promises.rename(partial, file);
  }

  /** The record of an attempt, if there is a readable one that makes sense. */
  private async readRecord(attemptId: string): Promise<AttemptRecord | undefined> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.recordFile(attemptId), 'utf8');
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') this.logger.warn({ attemptId, err: error }, 'process runtime: unreadable record');
      return undefined;
    }
    try {
      const value = JSON.parse(text) as Partial<AttemptRecord>;
      if (
        value.attemptId === attemptId &&
        typeof value.jobId === 'string' &&
        isSignallablePid(value.pid) &&
        isSignallablePid(value.pgid) &&
        typeof value.startedAt === 'string' &&
        (value.processStartTicks === null || typeof value.processStartTicks === 'string')
      ) {
        return value as AttemptRecord;
      }
    } catch {
      // Reported below, like a record of the wrong shape.
    }
    this.logger.warn({ attemptId }, 'process runtime: malformed record');
    return undefined;
  }

  /** Removes what an attempt left: its record and (unless kept) its working folder. */
  private async forget(attemptId: string): Promise<void> {
    await fs.promises.rm(this.recordFile(attemptId), { force: true });
    if (!this.keepAttemptFolders) {
      await fs.promises.rm(path.join(this.workRoot, attemptId), { recursive: true, force: true });
    }
  }
}

/** Why an attempt could not start, for people: it becomes the START_FAILED message. */
class StartFailure extends Error {}

interface AttemptSettings {
  logger: Logger;
  killGraceMs: number;
  /** Releases the attempt's resources; `exited` resolves after it. */
  cleanUp(): Promise<void>;
}

/** One spawned attempt: follows its output, enforces its time limit, stops its process group. */
class ProcessAttempt implements RunningAttempt {
  readonly attemptId: string;
  readonly exited: Promise<AttemptExit>;
  private resolveExited!: (exit: AttemptExit) => void;
  private readonly outputClosed: Promise<unknown>;
  private readonly splitters: LineSplitter[] = [];
  private readonly streams: Readable[] = [];
  private leaderExited = false;
  /** Why we ended it, if we did. */
  private cause: 'STOPPED' | 'TIMEOUT' | undefined;
  private termSent = false;
  private killAt: number | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly spec: AttemptSpec,
    child: ChildProcess,
    /** Also the process group id: the child leads its own group. */
    private readonly pid: number,
    private readonly handlers: AttemptHandlers,
    private readonly settings: AttemptSettings,
  ) {
    this.attemptId = spec.attemptId;
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    const closed: Promise<unknown>[] = [];
    for (const [name, stream] of [
      ['stdout', child.stdout],
      ['stderr', child.stderr],
    ] as const) {
      if (!stream) continue;
      const splitter = new LineSplitter((text) => this.emit(name, text));
      this.splitters.push(splitter);
      this.streams.push(stream);
      stream.on('data', (chunk: Buffer) => splitter.push(chunk));
      closed.push(new Promise((resolve) => stream.once('close', resolve)));
    }
    this.outputClosed = Promise.all(closed);
    child.on('error', (error) => settings.logger.warn({ attemptId: this.attemptId, err: error }, 'process runtime'));
    child.once('exit', (code, signal) => void this.finish(code, signal));
    if (spec.timeoutSeconds !== null) this.armTimeout(Date.now() + spec.timeoutSeconds * 1000);
  }

  stop(graceSeconds = 10): Promise<void> {
    this.terminate('STOPPED', graceMs(graceSeconds, 10));
    return this.exited.then(() => undefined);
  }

  private armTimeout(deadline: number): void {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      this.settings.logger.info({ attemptId: this.attemptId }, 'process runtime: attempt reached its time limit');
      this.terminate('TIMEOUT', this.settings.killGraceMs);
      return;
    }
    this.timeoutTimer = setTimeout(() => this.armTimeout(deadline), Math.min(remaining, MAX_TIMER_MS));
  }

  /** SIGTERM to the whole group now, SIGKILL once the grace has passed; a shorter grace given later brings it forward. */
  private terminate(cause: 'STOPPED' | 'TIMEOUT', grace: number): void {
    if (this.leaderExited) return;
    this.cause ??= cause;
    clearTimeout(this.timeoutTimer);
    if (!this.termSent) {
      this.termSent = true;
      signalGroup(this.pid, 'SIGTERM');
    }
    const killAt = Date.now() + grace;
    if (this.killAt === undefined || killAt < this.killAt) {
      this.killAt = killAt;
      clearTimeout(this.killTimer);
      this.killTimer = setTimeout(() => {
        if (!this.leaderExited) signalGroup(this.pid, 'SIGKILL');
      }, grace);
    }
  }

  private async finish(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.leaderExited = true;
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.killTimer);
    // As in a container whose first process exits: whatever it left running in its group goes with it.
    signalGroup(this.pid, 'SIGKILL');
    // A process that left the group (setsid) may still hold the pipes open: do not wait for it forever.
    if (!(await settlesWithin(this.outputClosed, OUTPUT_DRAIN_MS))) {
      this.settings.logger.debug({ attemptId: this.attemptId }, 'process runtime: output still open after exit');
      for (const stream of this.streams) stream.destroy();
    }
    for (const splitter of this.splitters) splitter.flush();
    const exit = this.describeExit(code, signal);
    try {
      await this.settings.cleanUp();
    } catch (error) {
      this.settings.logger.warn({ attemptId: this.attemptId, err: error }, 'process runtime: clean-up failed');
    }
    this.settings.logger.info({ attemptId: this.attemptId, ...exit }, 'process runtime: attempt ended');
    this.resolveExited(exit);
  }

  private describeExit(code: number | null, signal: NodeJS.Signals | null): AttemptExit {
    const ending = signal ? `ended by ${signal}` : `exited with code ${code}`;
    if (this.cause === 'TIMEOUT') {
      return { exitCode: code, reason: 'TIMEOUT', message: `time limit of ${this.spec.timeoutSeconds} s reached; ${ending}` };
    }
    if (this.cause === 'STOPPED') return { exitCode: code, reason: 'STOPPED', message: `stopped on request; ${ending}` };
    if (signal) {
      const hint = signal === 'SIGKILL' ? " (perhaps by the kernel's out-of-memory killer)" : '';
      return { exitCode: null, reason: 'EXITED', message: `killed by ${signal}${hint}` };
    }
    return { exitCode: code, reason: 'EXITED' };
  }

  private emit(stream: LogLine['stream'], text: string): void {
    const line: LogLine = { stream, text, at: new Date() };
    callHandler(this.settings.logger, this.attemptId, () => this.handlers.log(line));
  }
}

/** Cuts a byte stream into lines: split on LF, a trailing CR dropped, none longer than MAX_LINE_BYTES. */
class LineSplitter {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly emitLine: (text: string) => void) {}

  push(chunk: Buffer): void {
    const buffer = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let start = 0;
    for (;;) {
      const newline = buffer.indexOf(0x0a, start);
      const end = newline === -1 ? buffer.length : newline;
      if (end - start > MAX_LINE_BYTES) {
        const cut = characterBoundary(buffer, start + MAX_LINE_BYTES, start);
        this.emit(buffer.subarray(start, cut));
        start = cut;
        continue;
      }
      if (newline === -1) break;
      this.emit(buffer.subarray(start, newline));
      start = newline + 1;
    }
    // A copy, so that the (possibly large) chunk is not kept alive by the few bytes we hold on to.
    this.pending = Buffer.from(buffer.subarray(start));
  }

  /** Emits what is left: the last line, when the output did not end with a newline. */
  flush(): void {
    if (this.pending.length > 0) this.emit(this.pending);
    this.pending = Buffer.alloc(0);
  }

  private emit(bytes: Buffer): void {
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    this.emitLine(bytes.toString('utf8', 0, end));
  }
}

/** Moves a cut back to the start of a UTF-8 character, so that cut lines stay valid text. */
function characterBoundary(buffer: Buffer, cut: number, floor: number): number {
  let at = cut;
  while (at > floor && ((buffer[at] ?? 0) & 0xc0) === 0x80) at--;
  return at > floor ? at : cut;
}

/** Why a spec cannot be run, or undefined when it can. Specs come over the network: nothing is taken on trust. */
function specProblem(spec: AttemptSpec): string | undefined {
  const value = spec as unknown as Record<string, unknown>;
  if (value.runtime !== 'process') return `it is for the ${String(value.runtime)} runtime`;
  if (typeof value.attemptId !== 'string' || !SAFE_ATTEMPT_ID.test(value.attemptId)) {
    return 'attemptId must be 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit';
  }
  if (!isCleanString(value.jobId) || value.jobId === '') return 'jobId must be a non-empty string';
  if (!Number.isInteger(value.attemptNumber) || (value.attemptNumber as number) < 1) {
    return 'attemptNumber must be a positive integer';
  }
  const command = value.command;
  if (!Array.isArray(command) || command.length === 0) return 'command must be a non-empty list of strings';
  if (!command.every(isCleanString)) return 'command must hold only strings without NUL bytes';
  if (command[0] === '') return 'the program (command[0]) is empty';
  if (!Array.isArray(value.args) || !value.args.every(isCleanString)) {
    return 'args must be a list of strings without NUL bytes';
  }
  const env = value.env;
  if (typeof env !== 'object' || env === null || Array.isArray(env)) return 'env must be an object of strings';
  for (const [key, entry] of Object.entries(env)) {
    if (key === '' || key.includes('=') || key.includes('\0')) return `env has an invalid name ${JSON.stringify(key)}`;
    if (!isCleanString(entry)) return `env ${key} must be a string without NUL bytes`;
  }
  if (!Array.isArray(value.gpuIndices) || !value.gpuIndices.every((index) => Number.isInteger(index) && index >= 0)) {
    return 'gpuIndices must be a list of non-negative integers';
  }
  const timeout = value.timeoutSeconds;
  if (timeout !== null && !(typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0)) {
    return 'timeoutSeconds must be a positive number or null';
  }
  return undefined;
}

function isCleanString(value: unknown): value is string {
  return typeof value === 'string' && !value.includes('\0');
}

function describeSpawnError(program: string, error: Error | undefined, searchPath: string): string {
  switch (error && errorCode(error)) {
    case 'ENOENT':
      return program.includes('/')
        ? `${program} was not found (nor, if it is a script, the interpreter its #! line names)`
        : `program ${program} was not found in PATH ${searchPath}`;
    case 'EACCES':
      return `permission denied: ${program} is not executable`;
    default:
      return `could not start ${program}: ${error ? error.message : 'no process id'}`;
  }
}

/** A pid we may signal as a group: never 0 or 1 (kill(0) and kill(-1) reach far more), never the agent itself. */
function isSignallablePid(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 1 && value !== process.pid;
}

/** Sends a signal to a whole process group; false when there is no such group (or it is not ours to signal). */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  if (!isSignallablePid(pgid)) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

interface ProcessStatus {
  state: string;
  pgid: number;
  startTicks: string;
}

/** A process's state, group and start time from Linux's /proc; undefined elsewhere or when it does not exist. */
async function processStatus(pid: number): Promise<ProcessStatus | undefined> {
  let text: string;
  try {
    text = await fs.promises.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (command) state ppid pgrp ...": the command may itself hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, , pgid] = fields;
  const startTicks = fields[19];
  if (state === undefined || pgid === undefined || startTicks === undefined) return undefined;
  return { state, pgid: Number(pgid), startTicks };
}

/** Whether a recorded attempt's process group still has a living member, and is still the group we recorded. */
async function isStillRunning(record: AttemptRecord): Promise<boolean> {
  const leader = await processStatus(record.pid);
  // Its pid now belongs to a later process: a group with that id is that process's, not ours.
  if (leader && record.processStartTicks !== null && leader.startTicks !== record.processStartTicks) return false;
  return groupHasLivingMember(record.pgid);
}

/** kill(-pgid, 0) also succeeds while only zombies (dead, not yet reaped by their parent) are left: look closer. */
async function groupHasLivingMember(pgid: number): Promise<boolean> {
  if (!signalGroup(pgid, 0)) return false;
  let entries: string[];
  try {
    entries = await fs.promises.readdir('/proc');
  } catch {
    return true; // no /proc (macOS): trust kill()
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await processStatus(Number(entry));
    if (status && status.pgid === pgid && status.state !== 'Z' && status.state !== 'X') return true;
  }
  return false;
}

/** Waits up to `ms` for a recorded attempt to end; whether it did. */
async function waitUntilEnded(record: AttemptRecord, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!(await isStillRunning(record))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, ORPHAN_POLL_MS));
  }
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Grace periods in ms: negative or invalid values fall back, huge ones are capped to what a timer can wait. */
function graceMs(seconds: number | undefined, fallbackSeconds: number): number {
  const value = typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds : fallbackSeconds;
  return Math.min(value * 1000, MAX_TIMER_MS);
}

/** Runs a caller's handler; its failure is logged, never allowed to break the runtime. */
function callHandler(logger: Logger, attemptId: string, call: () => void): void {
  try {
    call();
  } catch (error) {
    logger.warn({ attemptId, err: error }, 'process runtime: an attempt handler threw');
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
