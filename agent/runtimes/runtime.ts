// What the agent asks of a runtime (docker, process, simulated): start an attempt of a job, follow it, stop it.

/** Everything a runtime needs to run one attempt of a job, as the scheduler assigned it. */
export interface AttemptSpec {
  attemptId: string;
  jobId: string;
  /** Which attempt of the job this is (1, 2, ...). */
  attemptNumber: number;
  runtime: 'docker' | 'process' | 'simulated';
  /** Container image (docker). */
  image: string | null;
  /** Program and arguments: the process to run (process), or the command overriding the image's (docker). */
  command: string[] | null;
  /** Arguments added after the command (or after the image's own command). */
  args: string[];
  env: Record<string, string>;
  cpuMillicores: number;
  memoryMiB: number;
  /** GPUs assigned on this node, by index; empty for CPU-only jobs. */
  gpuIndices: number[];
  /** The attempt is stopped and reported TIMEOUT after this long; null: no limit. */
  timeoutSeconds: number | null;
}

export type ExitReason =
  | 'EXITED' // ran to its end; exitCode says how
  | 'TIMEOUT' // stopped at its time limit
  | 'OOM_KILLED' // killed for exceeding its memory limit
  | 'STOPPED' // stopped on request (cancel, preemption, the scheduler's reconcile)
  | 'IMAGE_MISSING' // docker: the image is not on this node
  | 'START_FAILED'; // could not start (program not found, bad working folder...)

export interface AttemptExit {
  exitCode: number | null;
  reason: ExitReason;
  /** Details for people: the error that prevented a start, the signal that ended it... */
  message?: string;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  text: string;
  at: Date;
}

export interface AttemptHandlers {
  /** Each line the attempt writes, without its trailing newline. */
  log(line: LogLine): void;
  /** Called once, when the attempt is really running (container started, process spawned). */
  running(): void;
}

export interface RunningAttempt {
  readonly attemptId: string;
  /** Resolves once the attempt has ended and its resources are released (container removed...). */
  readonly exited: Promise<AttemptExit>;
  /**
   * Stops the attempt (SIGTERM, then SIGKILL after `graceSeconds`) and cleans up; `exited` then resolves with
   * reason STOPPED (unless it had already ended). Safe to call more than once.
   */
  stop(graceSeconds?: number): Promise<void>;
}

/** An attempt found running that this agent process did not start (the agent restarted). */
export interface OrphanedAttempt {
  attemptId: string;
  jobId: string;
  /** Whether the runtime can follow it again (docker can; a process whose parent died cannot). */
  adopt(handlers: AttemptHandlers): RunningAttempt | undefined;
  /** Ends it and cleans up. */
  stop(): Promise<void>;
}

export interface Runtime {
  readonly name: AttemptSpec['runtime'];
  /** Whether this runtime can run here (docker: the engine answers). */
  available(): Promise<boolean>;
  /** Starts an attempt. Failures to start resolve `exited` (START_FAILED, IMAGE_MISSING); they do not throw. */
  start(spec: AttemptSpec, handlers: AttemptHandlers): Promise<RunningAttempt>;
  /** Attempts left running by an earlier agent process on this node. */
  orphans(): Promise<OrphanedAttempt[]>;
}
