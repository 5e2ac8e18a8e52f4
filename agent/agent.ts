// The node agent: enrolls its machine, then keeps it in step with the scheduler. Every heartbeat says which
// attempts run here; the answer says which must run (start those that do not) and which must stop. Heartbeats come
// every interval, and at once when the assignment subscription says something changed for this node. The agent
// runs only what the scheduler assigned to this node, and reports each attempt's start and end with its
// fencing token.
import type { Logger } from '../common/logger';
import { AssignmentWatch } from './assignment-watch';
import { detectCapacity, type Capacity, type DeclaredCapacity } from './capacity';
import { AttemptRecords, CredentialStore, type AttemptRecord } from './credential-store';
import { AgentRefused, GatewayClient, GatewayUnavailable } from './gateway-client';
import { LogShipper } from './log-shipper';
import { declaredSampler, machineSampler, NodeMetricsReporter } from './node-metrics';
import type { AttemptExit, AttemptSpec, RunningAttempt, Runtime } from './runtimes/runtime';

export const AGENT_VERSION = '0.2.0';

export interface AgentOptions {
  gatewayUrl: string;
  /** Needed only the first time: afterwards the node's credential is in the state folder. */
  joinToken?: string;
  name: string;
  labels: Record<string, string>;
  runtimes: Runtime[];
  stateDir: string;
  declared: DeclaredCapacity;
  /** Kept for the machine itself: jobs may use the capacity less this. */
  reserved: { cpuMillicores: number; memoryMiB: number };
  logger: Logger;
  /** Seconds between pushes of the node's metrics; 0 turns them off. */
  metricsIntervalSeconds: number;
  /** A simulated node: its metrics are its declared capacity, idle, not this machine's. */
  simulated?: boolean;
}

interface Assignment {
  attemptId: string;
  jobId: string;
  attemptNumber: number;
  token: string;
  runtime: string;
  image: string | null;
  command: string[] | null;
  args: string[];
  env: { name: string; value: string }[];
  cpuMillicores: number;
  memoryMiB: number;
  gpuIndices: number[];
  timeoutSeconds: number | null;
}

interface Attempt {
  record: AttemptRecord;
  state: 'STARTING' | 'RUNNING';
  handle?: RunningAttempt;
  /** The scheduler told us to stop it: it no longer wants to hear about it. */
  stopOrdered: boolean;
}

const REGISTER = `mutation($input: RegisterNodeInput!) { registerNode(input: $input) { node { id name } credential userErrors { field message } } }`;
const HEARTBEAT = `mutation($input: NodeHeartbeatInput!) { nodeHeartbeat(input: $input) {
  assignments { attemptId jobId attemptNumber token runtime image command args env { name value } cpuMillicores memoryMiB gpuIndices timeoutSeconds }
  stop { attemptId reason }
  heartbeatIntervalSeconds
  userErrors { field message }
} }`;
const REPORT = `mutation($input: ReportAttemptInput!) { reportAttempt(input: $input) { accepted stop userErrors { field message } } }`;

const RUNTIME_NAMES: Record<string, AttemptSpec['runtime']> = { DOCKER: 'docker', PROCESS: 'process', SIMULATED: 'simulated' };

export class Agent {
  private readonly attempts = new Map<string, Attempt>();
  /** Attempts that ended and whose end is not yet acknowledged: not to be started again meanwhile. */
  private readonly ending = new Set<string>();
  /** The last report sent or queued about each attempt: reports about one attempt go one after another. */
  private readonly reports = new Map<string, Promise<void>>();
  private readonly records: AttemptRecords;
  private readonly shipper: LogShipper;
  private readonly watch: AssignmentWatch;
  private readonly metrics: NodeMetricsReporter;
  private timer: NodeJS.Timeout | undefined;
  /** The heartbeat in flight, if any: at most one at a time. */
  private beating: Promise<void> | undefined;
  /** Something asked for a heartbeat while one was in flight: one more follows it. */
  private beatAgain = false;
  private stopped = false;
  private intervalMs = 2_000;
  /** Heartbeats failed in a row, and whether the last one was refused (then only the backoff timer asks again). */
  private failures = 0;
  private refused = false;

  private constructor(
    private readonly options: AgentOptions,
    private readonly client: GatewayClient,
    readonly nodeId: string,
    readonly nodeName: string,
    private readonly capacity: Capacity,
  ) {
    this.records = new AttemptRecords(options.stateDir);
    this.shipper = new LogShipper(client, options.logger);
    this.watch = new AssignmentWatch({
      gatewayUrl: options.gatewayUrl,
      authorization: () => client.authorization(),
      logger: options.logger,
      // Events may have been missed while the subscription was down: the heartbeat's answer is the full state.
      onConnected: () => this.beatNow(),
      onChange: () => this.beatNow(),
    });
    const sampler = options.simulated ? declaredSampler(capacity) : machineSampler({ stateDir: options.stateDir, capacity, logger: options.logger });
    this.metrics = new NodeMetricsReporter(client, sampler, options.metricsIntervalSeconds * 1000, options.logger);
  }

  /** Enrolls the node if it has no credential yet, takes back what an earlier agent left running, and starts. */
  static async start(options: AgentOptions): Promise<Agent> {
    const logger = options.logger;
    const capacity = await detectCapacity(options.declared);
    const store = new CredentialStore(options.stateDir);
    let stored = store.load();
    if (stored && stored.gatewayUrl !== options.gatewayUrl) {
      logger.warn({ was: stored.gatewayUrl, now: options.gatewayUrl }, 'the gateway changed: enrolling again');
      stored = undefined;
    }
    const client = new GatewayClient(options.gatewayUrl, stored?.credential ?? options.joinToken ?? '');
    if (!stored) {
      if (!options.joinToken) {
        throw new Error(`No node credential in ${options.stateDir}: start the agent once with --join-token (an admin makes one with createJoinToken)`);
      }
      stored = await register(client, options, capacity);
      store.save(stored);
      client.useCredential(stored.credential);
      logger.info({ node: stored.nodeName, id: stored.nodeId }, 'enrolled this machine as a node');
    }
    const agent = new Agent(options, client, stored.nodeId, stored.nodeName, capacity);
    await agent.recoverOrphans();
    agent.beatNow();
    agent.watch.start();
    // Simulated nodes start at random points of the interval, so thousands of them do not push at once.
    agent.metrics.start(options.simulated ? Math.random() * options.metricsIntervalSeconds * 1000 : undefined);
    logger.info({ node: stored.nodeName, gateway: options.gatewayUrl, capacity, runtimes: options.runtimes.map((r) => r.name) }, 'agent running');
    return agent;
  }

  /** Stops every attempt (each is reported STOPPED, so the scheduler runs it again), the heartbeats and the watch. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all([this.watch.stop(), this.metrics.stop()]);
    await this.beating?.catch(() => undefined);
    await Promise.all([...this.attempts.values()].map((attempt) => attempt.handle?.stop(5)));
    await Promise.all([...this.attempts.keys()].map((id) => this.ended(id)));
    this.shipper.stop();
  }

  /** The attempts running here now (for tests and diagnostics). */
  runningAttempts(): string[] {
    return [...this.attempts.keys()];
  }

  /**
   * A heartbeat now, which reconciles this node with its answer. Bursts coalesce: while one is in flight, any number
   * of requests make one more follow it. After a refusal only the backoff timer tries again, so that a revoked
   * node does not spin.
   */
  private beatNow(dueByTimer = false): void {
    if (this.stopped) return;
    if (this.beating) {
      this.beatAgain = true;
      return;
    }
    if (this.refused && !dueByTimer) return;
    clearTimeout(this.timer);
    this.beating = this.heartbeat()
      .then(() => this.heartbeatAnswered(), (error: unknown) => this.heartbeatFailed(error))
      .finally(() => {
        this.beating = undefined;
        if (this.stopped) return;
        const again = this.beatAgain && this.failures === 0;
        this.beatAgain = false;
        if (again) this.beatNow();
        else this.scheduleHeartbeat();
      });
  }

  /** The next heartbeat: after the interval, or after a backoff (with jitter) while they fail. */
  private scheduleHeartbeat(): void {
    clearTimeout(this.timer);
    const wait = this.failures ? Math.min(this.intervalMs * 2 ** this.failures, 30_000) * (0.5 + Math.random() / 2) : this.intervalMs;
    this.timer = setTimeout(() => this.beatNow(true), wait);
    // Not unref'd: the heartbeat is what keeps an agent process alive.
  }

  private heartbeatAnswered(): void {
    if (this.failures > 0) this.options.logger.info({ failures: this.failures }, 'heartbeats answered again');
    this.failures = 0;
    this.refused = false;
  }

  /** Logged once per outage (and again if the gateway starts refusing this node), not once per retry. */
  private heartbeatFailed(error: unknown): void {
    const refused = error instanceof AgentRefused;
    this.failures += 1;
    const { logger } = this.options;
    if (refused && (this.failures === 1 || !this.refused)) logger.error({ reason: (error as Error).message }, 'the scheduler refused this node; backing off');
    else if (this.failures === 1) logger.warn({ err: error }, 'heartbeat failed; retrying with backoff');
    else logger.debug({ err: error, failures: this.failures }, 'heartbeat failed again');
    this.refused = refused;
  }

  private async heartbeat(): Promise<void> {
    const running = [...this.attempts.entries()].filter(([, a]) => !a.stopOrdered).map(([attemptId, a]) => ({ attemptId, state: a.state }));
    const answer = (await this.client.call<{ nodeHeartbeat: HeartbeatAnswer }>(HEARTBEAT, { input: { running } })).nodeHeartbeat;
    const interval = answer.heartbeatIntervalSeconds;
    if (Number.isFinite(interval) && interval >= 1 && interval <= 3_600) this.intervalMs = interval * 1000;
    for (const order of answer.stop) void this.stopOrdered(order.attemptId, order.reason);
    for (const assignment of answer.assignments) {
      if (!this.attempts.has(assignment.attemptId) && !this.ending.has(assignment.attemptId)) await this.startAttempt(assignment);
    }
  }

  private async startAttempt(assignment: Assignment): Promise<void> {
    const { logger } = this.options;
    const record: AttemptRecord = { attemptId: assignment.attemptId, jobId: assignment.jobId, token: assignment.token, runtime: assignment.runtime };
    const attempt: Attempt = { record, state: 'STARTING', stopOrdered: false };
    this.attempts.set(record.attemptId, attempt);
    this.records.save(record);

    const runtimeName = RUNTIME_NAMES[assignment.runtime];
    const runtime = this.options.runtimes.find((candidate) => candidate.name === runtimeName);
    if (!runtime) {
      await this.exited(record.attemptId, { exitCode: null, reason: 'START_FAILED', message: `this node offers no ${assignment.runtime.toLowerCase()} runtime` });
      return;
    }
    const spec: AttemptSpec = {
      attemptId: assignment.attemptId,
      jobId: assignment.jobId,
      attemptNumber: assignment.attemptNumber,
      runtime: runtimeName!,
      image: assignment.image,
      command: assignment.command,
      args: assignment.args,
      env: Object.fromEntries(assignment.env.map((variable) => [variable.name, variable.value])),
      cpuMillicores: assignment.cpuMillicores,
      memoryMiB: assignment.memoryMiB,
      gpuIndices: assignment.gpuIndices,
      timeoutSeconds: assignment.timeoutSeconds,
    };
    logger.info({ attempt: record.attemptId, job: record.jobId, runtime: runtimeName }, 'starting an attempt');
    void this.report(record, { event: 'STARTING' });
    const handle = await runtime.start(spec, {
      log: (line) => this.shipper.add(record.attemptId, record.token, line),
      running: () => {
        attempt.state = 'RUNNING';
        void this.report(record, { event: 'RUNNING' });
      },
    });
    attempt.handle = handle;
    void handle.exited.then((exit) => this.exited(record.attemptId, exit));
  }

  private async stopOrdered(attemptId: string, reason: string): Promise<void> {
    const attempt = this.attempts.get(attemptId);
    if (!attempt || attempt.stopOrdered) return;
    attempt.stopOrdered = true;
    this.options.logger.info({ attempt: attemptId, reason }, 'stopping an attempt on the scheduler\'s order');
    await attempt.handle?.stop();
  }

  /** An attempt ended (or was stopped): ship its last lines, then report it unless the scheduler stopped it. */
  private async exited(attemptId: string, exit: AttemptExit): Promise<void> {
    const attempt = this.attempts.get(attemptId);
    if (!attempt) return;
    this.ending.add(attemptId);
    this.attempts.delete(attemptId);
    await this.shipper.close(attemptId).catch(() => undefined);
    if (!attempt.stopOrdered) {
      this.options.logger.info({ attempt: attemptId, ...exit }, 'attempt ended');
      await this.report(attempt.record, { event: 'EXITED', exitCode: exit.exitCode, reason: exit.reason, message: exit.message ?? null });
    }
    this.records.remove(attemptId);
    this.ending.delete(attemptId);
  }

  private async ended(attemptId: string): Promise<void> {
    while (this.ending.has(attemptId)) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /**
   * Sends a report after the earlier reports about the same attempt: a short job's RUNNING must not overtake its
   * EXITED (the scheduler would drop it as stale, and its RUNNING would be lost to watchers).
   */
  private report(record: AttemptRecord, report: Record<string, unknown>): Promise<void> {
    const sent = (this.reports.get(record.attemptId) ?? Promise.resolve()).then(() => this.sendReport(record, report));
    this.reports.set(record.attemptId, sent);
    void sent.then(() => {
      if (this.reports.get(record.attemptId) === sent) this.reports.delete(record.attemptId);
    });
    return sent;
  }

  /** Sends a report, retrying while the gateway is unreachable; a refused or stale report is dropped. */
  private async sendReport(record: AttemptRecord, report: Record<string, unknown>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = (await this.client.call<{ reportAttempt: { accepted: boolean; stop: boolean } }>(REPORT, {
          input: { attemptId: record.attemptId, token: record.token, ...report },
        })).reportAttempt;
        if (answer.stop) void this.stopOrdered(record.attemptId, 'the scheduler refused a report about it (stale attempt)');
        return;
      } catch (error) {
        if (error instanceof AgentRefused || !(error instanceof GatewayUnavailable) || attempt >= 20 || (this.stopped && attempt >= 2)) {
          this.options.logger.warn({ err: error, attempt: record.attemptId, report: report.event }, 'could not report about an attempt');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** attempt, 5_000)));
      }
    }
  }

  /**
   * Attempts an earlier agent process left behind: those a runtime can follow again are kept (the next
   * heartbeat tells whether they are still wanted); the others are stopped and reported STOPPED, so the
   * scheduler runs them again. Nothing runs twice at once.
   */
  private async recoverOrphans(): Promise<void> {
    const records = new Map(this.records.all().map((record) => [record.attemptId, record]));
    for (const runtime of this.options.runtimes) {
      for (const orphan of await runtime.orphans()) {
        const record = records.get(orphan.attemptId);
        records.delete(orphan.attemptId);
        const attempt: Attempt | undefined = record ? { record, state: 'RUNNING', stopOrdered: false } : undefined;
        const handle = attempt
          ? orphan.adopt({
              log: (line) => this.shipper.add(record!.attemptId, record!.token, line),
              running: () => undefined,
            })
          : undefined;
        if (attempt && handle) {
          attempt.handle = handle;
          this.attempts.set(orphan.attemptId, attempt);
          void handle.exited.then((exit) => this.exited(orphan.attemptId, exit));
          this.options.logger.info({ attempt: orphan.attemptId }, 'took back an attempt left running by an earlier agent');
          continue;
        }
        await orphan.stop();
        if (record) await this.report(record, { event: 'EXITED', exitCode: null, reason: 'STOPPED', message: 'the agent restarted and could not follow it' });
        this.records.remove(orphan.attemptId);
      }
    }
    // Attempts that ended while no agent was watching: their exit code is lost, so they run again.
    for (const record of records.values()) {
      await this.report(record, { event: 'EXITED', exitCode: null, reason: 'STOPPED', message: 'it ended while the agent was down' });
      this.records.remove(record.attemptId);
    }
  }
}

interface HeartbeatAnswer {
  assignments: Assignment[];
  stop: { attemptId: string; reason: string }[];
  heartbeatIntervalSeconds: number;
}

async function register(client: GatewayClient, options: AgentOptions, capacity: Capacity) {
  const allocatable = {
    cpuMillicores: Math.max(1, capacity.cpuMillicores - options.reserved.cpuMillicores),
    memoryMiB: Math.max(1, capacity.memoryMiB - options.reserved.memoryMiB),
  };
  const result = await client.call<{ registerNode: { node: { id: string; name: string } | null; credential: string | null; userErrors: { message: string }[] } }>(REGISTER, {
    input: {
      name: options.name,
      labels: Object.entries(options.labels).map(([key, value]) => ({ key, value })),
      capacity,
      allocatable,
      runtimes: options.runtimes.map((runtime) => runtime.name),
      agentVersion: AGENT_VERSION,
    },
  });
  const { node, credential, userErrors } = result.registerNode;
  if (!node || !credential) throw new AgentRefused(`The scheduler refused to enroll this node: ${userErrors.map((e) => e.message).join('; ')}`, 'REJECTED');
  return { nodeId: node.id, nodeName: node.name, credential, gatewayUrl: options.gatewayUrl };
}
