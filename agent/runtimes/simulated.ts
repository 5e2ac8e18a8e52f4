// Pretends to run attempts, like Nomad's mock driver: each "runs" for a declared time on a timer, without a process,
// so that scale tests and demos can place thousands of jobs on a laptop.
import type { Logger } from '../../common/logger';
import type { AttemptExit, AttemptHandlers, AttemptSpec, OrphanedAttempt, Runtime, RunningAttempt } from './runtime';

/** How long a simulated attempt runs, in seconds (decimals allowed); default 1. */
export const SIMULATED_SECONDS = 'TOUCHLINE_SIMULATED_SECONDS';
/** The exit code a simulated attempt ends with (0-255); default 0. */
export const SIMULATED_EXIT_CODE = 'TOUCHLINE_SIMULATED_EXIT_CODE';

/** setTimeout cannot wait longer (about 24.8 days). */
const MAX_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export interface SimulatedRuntimeOptions {
  logger: Logger;
}

/** What the spec asks the simulation to do. */
interface SimulatedRun {
  seconds: number;
  exitCode: number;
}

export class SimulatedRuntime implements Runtime {
  readonly name = 'simulated' as const;
  private readonly logger: Logger;
  private readonly running = new Set<string>();

  constructor(options: SimulatedRuntimeOptions) {
    this.logger = options.logger;
  }

  async available(): Promise<boolean> {
    return true;
  }

  async start(spec: AttemptSpec, handlers: AttemptHandlers): Promise<RunningAttempt> {
    const run = parseRun(spec.env ?? {});
    if (typeof run === 'string') return this.startFailed(spec, run);
    if (this.running.has(spec.attemptId)) return this.startFailed(spec, `attempt ${spec.attemptId} is already running`);
    this.running.add(spec.attemptId);
    const attempt = new SimulatedAttempt(spec, run, handlers, this.logger);
    void attempt.exited.then(() => this.running.delete(spec.attemptId));
    return attempt;
  }

  /** Simulated attempts live in the agent's memory: nothing survives a restart. */
  async orphans(): Promise<OrphanedAttempt[]> {
    return [];
  }

  private startFailed(spec: AttemptSpec, message: string): RunningAttempt {
    this.logger.warn({ attemptId: spec.attemptId, jobId: spec.jobId }, `simulated runtime: ${message}`);
    return {
      attemptId: spec.attemptId,
      exited: Promise.resolve({ exitCode: null, reason: 'START_FAILED', message }),
      stop: async () => {},
    };
  }
}

class SimulatedAttempt implements RunningAttempt {
  readonly attemptId: string;
  readonly exited: Promise<AttemptExit>;
  private resolveExited!: (exit: AttemptExit) => void;
  private ended = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    spec: AttemptSpec,
    run: SimulatedRun,
    private readonly handlers: AttemptHandlers,
    private readonly logger: Logger,
  ) {
    this.attemptId = spec.attemptId;
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    const timeout = spec.timeoutSeconds;
    const timesOut = timeout !== null && timeout < run.seconds;
    this.timer = setTimeout(
      () => {
        if (timesOut) {
          this.end({ exitCode: null, reason: 'TIMEOUT', message: `time limit of ${timeout} s reached` });
        } else {
          this.log(`simulated exit with code ${run.exitCode}`);
          this.end({ exitCode: run.exitCode, reason: 'EXITED' });
        }
      },
      (timesOut ? timeout : run.seconds) * 1000,
    );
    this.call(() => handlers.running());
    this.log(`simulated run of ${run.seconds} s`);
  }

  async stop(): Promise<void> {
    this.end({ exitCode: null, reason: 'STOPPED', message: 'stopped on request' });
    await this.exited;
  }

  private end(exit: AttemptExit): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.resolveExited(exit);
  }

  private log(text: string): void {
    this.call(() => this.handlers.log({ stream: 'stdout', text, at: new Date() }));
  }

  /** A caller's handler that throws is logged, never allowed to break the simulation. */
  private call(handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.logger.warn({ attemptId: this.attemptId, err: error }, 'simulated runtime: an attempt handler threw');
    }
  }
}

/** The run a spec's environment declares, or why it cannot be simulated. */
function parseRun(env: Record<string, string>): SimulatedRun | string {
  const secondsText = env[SIMULATED_SECONDS]?.trim() ?? '1';
  const seconds = Number(secondsText);
  if (!/^\d+(\.\d+)?$/.test(secondsText) || seconds > MAX_SECONDS) {
    return `${SIMULATED_SECONDS} must be a number of seconds from 0 to ${MAX_SECONDS}, such as 2.5 (got ${JSON.stringify(secondsText)})`;
  }
  const exitCodeText = env[SIMULATED_EXIT_CODE]?.trim() ?? '0';
  const exitCode = Number(exitCodeText);
  if (!/^\d{1,3}$/.test(exitCodeText) || exitCode > 255) {
    return `${SIMULATED_EXIT_CODE} must be an integer from 0 to 255 (got ${JSON.stringify(exitCodeText)})`;
  }
  return { seconds, exitCode };
}
