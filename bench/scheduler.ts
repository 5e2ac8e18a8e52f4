// Scheduler benchmark: jobs submitted through the scheduler's own service and placed by its real control loop on a real
// database (SQLite and PostgreSQL), beside the placement module alone. Writes bench/results/scheduler.json.
//
//   npx tsx bench/scheduler.ts [--nodes 5000] [--jobs 100000] [--db sqlite|postgres|both] [--seed 1]
//   (run with --help for every flag)
//
// Each database runs in a process of its own (so that its peak memory is its own), on a database made for the run
// and dropped after it:
//  - Set-up, not timed: the scheduler's migrations; the nodes of bench/cluster.ts enrolled through `registerNode` with
//    join tokens, as agents enroll (READY, heartbeat now; 2 % then NOT_READY, 1 % cordoned); the jobs the cluster
//    already runs (40 % of nodes, low priorities) written as RUNNING jobs with their attempts and events. Agents'
//    heartbeats are not simulated: the loop's heartbeat timeout is set past the run instead.
//  - Timed: from the first submission until every submitted job is SCHEDULED or known unschedulable, that is still
//    queued with the reason a placement cycle gave it; jobs preempted meanwhile count once placed again or given a
//    reason. Submissions call the scheduler's `submitJob` and write the audit entry in `db.transaction`, as the
//    GraphQL mutation does (HTTP and GraphQL parsing are skipped), --submit-batch jobs per transaction from
//    --submitters concurrent clients, each waking the loop after its commit as the API does and yielding to the event
//    loop as a request arriving over the network would. The real `ControlLoop` runs meanwhile (--phased: only once
//    every job is in); the run ends with the first placement cycle after which no submitted job waits undecided.
//  - endToEndJobsPerSecond: submitted jobs / that time. submissionJobsPerSecond: submitted jobs / the time until the
//    last submission committed. placementJobsPerSecond: submitted jobs / the time the loop spent in placement cycles.
//    consideredJobs: the jobs the cycles decided, counting each time (unschedulable ones are decided on every walk).
//  - p50/p99PlacementMs: per placement cycle (one batch: read the queue and the nodes, decide, commit); for the module,
//    per placeJobs call on a --batch job batch. p50/p99SubmitToScheduledMs: per job, from its submission to its first
//    attempt's scheduling.
//  - placementsPerSecond: the placement module alone (bench/placement.ts's measurement on the same cluster and
//    jobs): jobs decided per second in --batch job batches, as the loop used to call it; also in one call.
//  - peakRssMb: the process's peak resident memory, per phase (measured before the checks below).
//  - Afterwards, not timed: the invariants are checked (counters equal the sums of active attempts, no over-commit,
//    no GPU given twice or that a node lacks, one active attempt per active job, every state change recorded as an
//    event, in order). A violation fails the run.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { In, type EntityManager } from 'typeorm';
import { recordAudit } from '../common/audit/audit-log';
import { AuditOutcome } from '../common/audit/audit-entry.entity';
import type { Identity } from '../common/auth/identity';
import type { SchedulerSettings } from '../common/config';
import { Database, type DatabaseLocation } from '../common/db/database';
import { newId } from '../common/db/ids';
import { scheduler } from '../subgraphs/scheduler';
import { newFencingToken, registerNode } from '../subgraphs/scheduler/agent-api/agent.service';
import { ControlLoop } from '../subgraphs/scheduler/control-loop';
import { AttemptState, Job, JobAttempt, JobEvent, JobRuntime } from '../subgraphs/scheduler/job/job.entity';
import type { SubmitJobInput } from '../subgraphs/scheduler/job/job.inputs';
import { recordEvents, snapshotOf, submitJob, type StateChange } from '../subgraphs/scheduler/job/job.service';
import { JobState, QUEUED_STATES } from '../subgraphs/scheduler/job/job-state';
import { RegistryClient } from '../subgraphs/scheduler/job/registry-client';
import { Node, NodeHealth } from '../subgraphs/scheduler/node/node.entity';
import { cordonNode, createJoinToken } from '../subgraphs/scheduler/node/node.service';
import type { CycleReport } from '../subgraphs/scheduler/placement/placement-cycle';
import type { PendingJob } from '../subgraphs/scheduler/placement/types';
import { buildBacklog, buildCluster, positiveFlag, seededRandom, type BenchNode } from './cluster';
import { measureBatches, measureWholeBacklog, percentile, warmUp } from './placement';
import { round1, round2, sleep } from './support';

const USAGE = `Usage: npx tsx bench/scheduler.ts [flags]

  --nodes N               nodes in the cluster (default 5000): 70 % CPU-only, 30 % with 8 GPUs (bench/cluster.ts)
  --jobs N                jobs to submit (default 100000)
  --db sqlite|postgres|both  where the scheduler keeps its data (default both)
  --seed N                seed of the cluster and the jobs (default 1)
  --strategy binpack|spread  placement strategy (default binpack)
  --batch N               jobs per placeJobs call when measuring the module alone (default 1000)
  --submit-batch N        jobs submitted per transaction (default 100; 1 is one mutation per transaction)
  --submitters N          concurrent submitting clients (default 4)
  --phased                submit every job first, then start the control loop (default: the loop runs meanwhile)
  --postgres-url URL      server on which a database is created and dropped for the run
                          (default postgres://postgres@127.0.0.1:5432/test)
  --timeout S             give up a database's run after S seconds (default 1800)
  --help                  show this help`;

const RESULTS_FILE = path.join(__dirname, 'results/scheduler.json');
const PROGRESS_EVERY_MS = 2_000;
const DONE_POLL_MS = 1_000;
const NODES_PER_TRANSACTION = 250;
const ROWS_PER_INSERT = 500;

type DatabaseKind = DatabaseLocation['kind'];
type Phase = 'placement' | DatabaseKind;

interface Options {
  nodes: number;
  jobs: number;
  databases: DatabaseKind[];
  seed: number;
  strategy: 'binpack' | 'spread';
  batch: number;
  submitBatch: number;
  submitters: number;
  phased: boolean;
  postgresUrl: string;
  timeoutSeconds: number;
  phase: Phase | undefined;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string', default: '5000' },
      jobs: { type: 'string', default: '100000' },
      db: { type: 'string', default: 'both' },
      seed: { type: 'string', default: '1' },
      strategy: { type: 'string', default: 'binpack' },
      batch: { type: 'string', default: '1000' },
      'submit-batch': { type: 'string', default: '100' },
      submitters: { type: 'string', default: '4' },
      phased: { type: 'boolean', default: false },
      'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
      timeout: { type: 'string', default: '1800' },
      phase: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  const positive = (name: string, text: string) => positiveFlag(name, text, USAGE);
  if (values.strategy !== 'binpack' && values.strategy !== 'spread') throw new Error(`--strategy must be binpack or spread\n\n${USAGE}`);
  const databases: Record<string, DatabaseKind[]> = { sqlite: ['sqlite'], postgres: ['postgres'], both: ['sqlite', 'postgres'] };
  if (!databases[values.db]) throw new Error(`--db must be sqlite, postgres or both, not ${values.db}\n\n${USAGE}`);
  if (values.phase !== undefined && !['placement', 'sqlite', 'postgres'].includes(values.phase)) throw new Error(`unknown --phase ${values.phase}`);
  return {
    nodes: positive('nodes', values.nodes),
    jobs: positive('jobs', values.jobs),
    databases: databases[values.db]!,
    seed: positive('seed', values.seed),
    strategy: values.strategy,
    batch: positive('batch', values.batch),
    submitBatch: positive('submit-batch', values['submit-batch']),
    submitters: positive('submitters', values.submitters),
    phased: values.phased,
    postgresUrl: values['postgres-url'],
    timeoutSeconds: positive('timeout', values.timeout),
    phase: values.phase as Phase | undefined,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The placement module alone

interface PlacementPhaseResult {
  placementsPerSecond: number;
  wholeBacklogPlacementsPerSecond: number;
  wholeBacklogMs: number;
  p50BatchMs: number;
  p99BatchMs: number;
  batched: { placed: number; unschedulable: number; preempted: number };
  peakRssMb: number;
}

function runPlacementPhase(options: Options): PlacementPhaseResult {
  const random = seededRandom(options.seed);
  const nodes = buildCluster(options.nodes, random);
  const jobs = buildBacklog(options.jobs, random);
  const measure = { batch: options.batch, strategy: options.strategy, rounds: 3 };
  warmUp(nodes, jobs, measure);
  const whole = measureWholeBacklog(nodes, jobs, measure);
  const batched = measureBatches(nodes, jobs, measure);
  return {
    placementsPerSecond: Math.round(jobs.length / (batched.totalMs / 1000)),
    wholeBacklogPlacementsPerSecond: Math.round(jobs.length / (whole.ms / 1000)),
    wholeBacklogMs: round2(whole.ms),
    p50BatchMs: round2(batched.p50BatchMs),
    p99BatchMs: round2(batched.p99BatchMs),
    batched: batched.outcome,
    peakRssMb: peakRssMb(),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// End to end: a database of its own, the cluster enrolled, the jobs submitted and placed by the control loop

interface EndToEndResult {
  database: DatabaseKind;
  endToEndJobsPerSecond: number;
  submissionJobsPerSecond: number;
  placementJobsPerSecond: number;
  endToEndSeconds: number;
  submissionSeconds: number;
  placementBusySeconds: number;
  cycles: number;
  /** Jobs the cycles read and decided, counting each time: unschedulable jobs are decided again on every walk. */
  consideredJobs: number;
  p50PlacementMs: number;
  p99PlacementMs: number;
  /** Where a cycle's time goes, summed over the run. */
  cycleSeconds: { read: number; place: number; commit: number };
  p50SubmitToScheduledMs: number;
  p99SubmitToScheduledMs: number;
  jobs: { scheduled: number; unschedulable: number; preemptedOnce: number };
  preemptions: number;
  conflicts: number;
  setupSeconds: number;
  peakRssMb: number;
  invariants: string[];
}

/** Who submits: an operator's API key, as the mutation would see it. */
const SUBMITTER: Identity = { kind: 'apiKey', id: 'bench-key', name: 'scheduler benchmark', role: 'operator' };
const ADMIN: Identity = { kind: 'service', id: 'bench', name: 'scheduler benchmark', role: 'admin' };
const SECRET = randomBytes(32).toString('hex');

interface Store {
  location: DatabaseLocation;
  drop(): Promise<void>;
}

async function createStore(kind: DatabaseKind, options: Options): Promise<Store> {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-bench-'));
    return { location: { kind, file: path.join(dir, 'scheduler.sqlite') }, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `touchline_bench_${randomBytes(6).toString('hex')}`;
  const withAdmin = async (sql: string) => {
    const client = new pg.Client({ connectionString: options.postgresUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await withAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(options.postgresUrl);
  url.pathname = `/${name}`;
  return { location: { kind, url: url.href, schema: 'scheduler' }, drop: () => withAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function runEndToEnd(kind: DatabaseKind, options: Options): Promise<EndToEndResult> {
  const random = seededRandom(options.seed);
  const cluster = buildCluster(options.nodes, random);
  const backlog = buildBacklog(options.jobs, random);
  const say = (message: string) => console.log(`[${kind}] ${message}`);
  const errors: string[] = [];
  // Warnings and errors of the scheduler (a failing cycle is logged and retried by the loop) go to stderr, and count.
  const logger = pino({ level: 'warn' }, {
    write(line: string) {
      process.stderr.write(line);
      const entry = JSON.parse(line) as { level: number; msg?: string };
      if (entry.level >= 50) errors.push(entry.msg ?? line);
    },
  });

  const store = await createStore(kind, options);
  let cleaned = false;
  const cleanUp = async (db?: Database) => {
    if (cleaned) return;
    cleaned = true;
    await db?.close().catch(() => undefined);
    await store.drop();
  };
  let db: Database | undefined;
  const interrupted = () => void cleanUp(db).finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const setupStart = performance.now();
    db = await Database.open({ location: store.location, entities: scheduler.entities, migrations: scheduler.migrations, logger });
    say(`enrolling ${cluster.length} nodes through registerNode...`);
    const nodeIds = await enrollNodes(db, cluster);
    const running = await addRunningJobs(db, cluster, nodeIds);
    const setupSeconds = (performance.now() - setupStart) / 1000;
    say(`set up in ${setupSeconds.toFixed(1)} s: ${cluster.length} nodes, ${running} jobs already running`);

    const measured = await submitAndPlace(db, backlog.map(toSubmission), options, logger, errors, say);
    const rss = peakRssMb();
    say('checking the invariants...');
    const checked = await checkInvariants(db);
    say(checked.violations.length ? `INVARIANTS VIOLATED:\n  ${checked.violations.join('\n  ')}` : 'invariants hold');
    if (errors.length) say(`${errors.length} errors were logged; the first: ${errors[0]}`);
    return {
      database: kind,
      ...measured,
      p50SubmitToScheduledMs: checked.p50SubmitToScheduledMs,
      p99SubmitToScheduledMs: checked.p99SubmitToScheduledMs,
      jobs: checked.jobs,
      preemptions: checked.preemptions,
      setupSeconds: round1(setupSeconds),
      peakRssMb: rss,
      invariants: [...checked.violations, ...errors.map((error) => `logged error: ${error}`)],
    };
  } finally {
    await cleanUp(db);
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

/** Enrolls the nodes as their agents would (join token, registerNode), then marks the few that are not ready. */
async function enrollNodes(db: Database, cluster: BenchNode[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (let offset = 0; offset < cluster.length; offset += NODES_PER_TRANSACTION) {
    const chunk = cluster.slice(offset, offset + NODES_PER_TRANSACTION);
    await db.transaction(async (em) => {
      const issued = await createJoinToken(em, { name: `bench ${offset}`, maxUses: chunk.length, expiresInSeconds: 3_600 }, ADMIN, SECRET);
      if (!issued.value) throw new Error(`join token: ${JSON.stringify(issued.userErrors)}`);
      const agent: Identity = { kind: 'joinToken', id: issued.value.joinToken.id, name: 'bench agent', role: 'enroll' };
      for (const node of chunk) {
        const outcome = await registerNode(em, {
          name: node.name,
          labels: Object.entries(node.labels).map(([key, value]) => ({ key, value })),
          capacity: { cpuMillicores: node.allocatable.cpuMillicores, memoryMiB: node.allocatable.memoryMiB, gpus: node.gpus.map((gpu) => ({ ...gpu })) },
          runtimes: [...node.runtimes],
          agentVersion: 'bench',
        }, agent, SECRET);
        if (!outcome.value) throw new Error(`registerNode ${node.name}: ${JSON.stringify(outcome.userErrors)}`);
        ids.set(node.id, outcome.value.node.id);
      }
    });
  }
  await db.transaction(async (em) => {
    for (const node of cluster) {
      const id = ids.get(node.id)!;
      if (node.status === 'NOT_READY') await em.update(Node, { id }, { health: NodeHealth.NOT_READY });
      if (node.status === 'CORDONED') await cordonNode(em, { id }, true);
    }
  });
  return ids;
}

/** The jobs the cluster runs before the benchmark starts, with their attempts and events, as the scheduler left them. */
async function addRunningJobs(db: Database, cluster: BenchNode[], nodeIds: Map<string, string>): Promise<number> {
  const jobs: Job[] = [];
  const attempts: Partial<JobAttempt>[] = [];
  const events: StateChange[] = [];
  const nodes: { id: string; cpu: number; memory: number; gpus: number[] }[] = [];
  const now = new Date();
  for (const node of cluster) {
    if (node.running.length === 0) continue;
    const nodeId = nodeIds.get(node.id)!;
    for (const allocation of node.running) {
      const job = db.manager.create(Job, {
        id: newId(), name: `running-${allocation.jobId}`, state: JobState.RUNNING, priority: allocation.priority, queuedAt: now.getTime(),
        runtime: JobRuntime.DOCKER, modelVersionId: null, modelName: null, modelVersionName: null, image: 'registry.example/batch:1',
        command: null, args: [], envMap: {}, inputRef: null, cpuMillicores: allocation.cpuMillicores, memoryMib: allocation.memoryMiB,
        gpuCount: allocation.gpuIndices.length, gpuMemoryMib: 0, nodeSelectorMap: {}, maxAttempts: 3, backoffSeconds: 10,
        maxBackoffSeconds: 600, timeoutSeconds: null, idempotencyKey: null, requestHash: 'bench', attempt: 1, failures: 0,
        nextAttemptAt: null, nodeId, unschedulableReason: null, reason: null, exitCode: null, createdBy: 'bench: running before',
        createdAt: now, updatedAt: now, finishedAt: null,
      });
      jobs.push(job);
      attempts.push({
        id: newId(), jobId: job.id, number: 1, nodeId, token: newFencingToken(), state: AttemptState.RUNNING,
        gpuIndices: [...allocation.gpuIndices], cpuMillicores: allocation.cpuMillicores, memoryMib: allocation.memoryMiB,
        exitCode: null, reason: null, scheduledAt: now, startedAt: now, finishedAt: null,
      });
      const trail: [JobState | null, JobState, number | null][] = [[null, JobState.PENDING, null], [JobState.PENDING, JobState.SCHEDULED, 1], [JobState.SCHEDULED, JobState.RUNNING, 1]];
      for (const [from, to, attempt] of trail) events.push({ jobId: job.id, from, to, attempt, reason: null, nodeId, snapshot: snapshotOf(job) });
    }
    nodes.push({
      id: nodeId,
      cpu: node.allocated.cpuMillicores,
      memory: node.allocated.memoryMiB,
      gpus: [...node.allocated.gpuIndices],
    });
  }
  await db.transaction(async (em) => {
    await insertChunked(em, Job, jobs);
    await insertChunked(em, JobAttempt, attempts);
    recordEvents(em, events); // numbered in the jobs stream at commit, as the scheduler records them
    for (const node of nodes) await em.update(Node, { id: node.id }, { allocatedCpu: node.cpu, allocatedMemory: node.memory, allocatedGpus: node.gpus });
  });
  return jobs.length;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function insertChunked(em: EntityManager, entity: new () => any, rows: object[]): Promise<void> {
  for (let offset = 0; offset < rows.length; offset += ROWS_PER_INSERT) await em.insert(entity, rows.slice(offset, offset + ROWS_PER_INSERT));
}

/** A synthetic job as a client submits it: an image for docker, a command for the other runtimes. */
function toSubmission(job: PendingJob, index: number): SubmitJobInput {
  const runtime = job.runtime as JobRuntime;
  return {
    name: `bench-${index}`,
    runtime,
    image: runtime === JobRuntime.DOCKER ? 'registry.example/touchline/xg-model:1.4' : null,
    command: runtime === JobRuntime.DOCKER ? null : ['python', '-m', 'models.score'],
    args: ['--match', String(100_000 + index)],
    priority: job.priority,
    resources: { cpuMillicores: job.cpuMillicores, memoryMiB: job.memoryMiB, gpuCount: job.gpuCount, gpuMemoryMiB: job.gpuMemoryMiB },
    nodeSelector: Object.entries(job.nodeSelector).map(([key, value]) => ({ key, value })),
  } as SubmitJobInput;
}

interface CycleSample {
  endedAt: number;
  ms: number;
  report: CycleReport;
}

type Measured = Pick<
  EndToEndResult,
  | 'endToEndJobsPerSecond'
  | 'submissionJobsPerSecond'
  | 'placementJobsPerSecond'
  | 'endToEndSeconds'
  | 'submissionSeconds'
  | 'placementBusySeconds'
  | 'cycles'
  | 'consideredJobs'
  | 'p50PlacementMs'
  | 'p99PlacementMs'
  | 'cycleSeconds'
  | 'conflicts'
>;

async function submitAndPlace(
  db: Database,
  submissions: SubmitJobInput[],
  options: Options,
  logger: pino.Logger,
  errors: string[],
  say: (message: string) => void,
): Promise<Measured> {
  const settings: SchedulerSettings = {
    strategy: options.strategy,
    preemption: true,
    heartbeatIntervalSeconds: 10,
    // No agent sends heartbeats here: keep the enrolled nodes from going silent during a long run.
    heartbeatTimeoutSeconds: 24 * 3_600,
    nodeLostGraceSeconds: 3_600,
    jobLogLines: 1_000,
  };
  const cycles: CycleSample[] = [];
  let submissionsDone = false;
  let doneAt: number | undefined;
  let checking = false;
  let checkAgain = false;
  const undecided = db.manager
    .createQueryBuilder(Job, 'job')
    .where('job.state IN (:...states)', { states: QUEUED_STATES })
    .andWhere('job.unschedulableReason IS NULL');
  // Once every job is submitted, each cycle's end asks whether any queued job still waits for a decision: the
  // end of the cycle after which none does is the end of the run.
  const checkDone = async (cycleEnd: number) => {
    if (checking) {
      checkAgain = true;
      return;
    }
    checking = true;
    try {
      if (doneAt === undefined && (await undecided.getCount()) === 0) doneAt = cycleEnd;
    } finally {
      checking = false;
    }
    if (checkAgain && doneAt === undefined) {
      checkAgain = false;
      await checkDone(performance.now());
    }
  };
  const loop = new ControlLoop(db, settings, logger, {
    onCycle: (report) => {
      const endedAt = performance.now();
      const ms = report.timings.readMs + report.timings.placeMs + report.timings.commitMs;
      cycles.push({ endedAt, ms, report });
      if (submissionsDone) void checkDone(endedAt).catch((error: unknown) => errors.push(String(error)));
    },
  });
  const registry = new RegistryClient('http://127.0.0.1:9/unused', SECRET);

  let next = 0;
  let submitted = 0;
  const submitter = async () => {
    while (next < submissions.length) {
      const chunk = submissions.slice(next, next + options.submitBatch);
      next += chunk.length;
      await db.transaction(async (em) => {
        for (const input of chunk) {
          const outcome = await submitJob(em, input, SUBMITTER, registry);
          if (!outcome.value) throw new Error(`submitJob refused ${input.name}: ${JSON.stringify(outcome.userErrors)}`);
          await recordAudit(em, {
            service: 'scheduler',
            identity: SUBMITTER,
            action: 'submitJob',
            outcome: AuditOutcome.SUCCEEDED,
            target: { type: 'job', id: outcome.value.job.id },
            input: { input },
            requestId: newId(),
          });
        }
      });
      submitted += chunk.length;
      // As the API's afterCommit does; a phased run starts the loop only once every job is in.
      if (!options.phased) loop.wake();
      // Requests reach the API through the network, so timers (the loop's ticks) run between them. SQLite's driver
      // answers synchronously: without this, back-to-back submissions would never let a timer fire.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  const start = performance.now();
  const progress = setInterval(() => {
    const seconds = (performance.now() - start) / 1000;
    const placed = cycles.reduce((sum, cycle) => sum + cycle.report.placed, 0);
    const last = cycles.at(-1);
    const t = last?.report.timings;
    say(
      `${seconds.toFixed(1)} s: submitted ${submitted}/${submissions.length}, placed ${placed} ` +
        `(${Math.round(placed / seconds)}/s), ${cycles.length} cycles` +
        (t ? `; last cycle ${last.report.considered} jobs in ${Math.round(last.ms)} ms (read ${Math.round(t.readMs)}, place ${Math.round(t.placeMs)}, commit ${Math.round(t.commitMs)})` : ''),
    );
  }, PROGRESS_EVERY_MS);
  try {
    if (!options.phased) loop.start();
    await Promise.all(Array.from({ length: options.submitters }, submitter));
    const submittedAt = performance.now();
    submissionsDone = true;
    say(`all ${submissions.length} jobs submitted in ${((submittedAt - start) / 1000).toFixed(1)} s`);
    if (options.phased) loop.start();
    else loop.wake();
    const deadline = start + options.timeoutSeconds * 1000;
    // Belt and braces: also ask now and then, in case no further cycle ends.
    while (doneAt === undefined) {
      if (performance.now() > deadline) throw new Error(`not done after ${options.timeoutSeconds} s`);
      await sleep(DONE_POLL_MS);
      if (doneAt === undefined && !checking) await checkDone(performance.now());
    }
    const endedAt = doneAt;
    const measuredCycles = cycles.filter((cycle) => cycle.endedAt <= endedAt && cycle.report.considered > 0);
    const latencies = measuredCycles.map((cycle) => cycle.ms).sort((a, b) => a - b);
    const busyMs = latencies.reduce((sum, ms) => sum + ms, 0);
    const sum = (pick: (cycle: CycleSample) => number) => measuredCycles.reduce((total, cycle) => total + pick(cycle), 0);
    return {
      endToEndJobsPerSecond: Math.round(submissions.length / ((endedAt - start) / 1000)),
      submissionJobsPerSecond: Math.round(submissions.length / ((submittedAt - start) / 1000)),
      placementJobsPerSecond: Math.round(submissions.length / (busyMs / 1000)),
      endToEndSeconds: round2((endedAt - start) / 1000),
      submissionSeconds: round2((submittedAt - start) / 1000),
      placementBusySeconds: round2(busyMs / 1000),
      cycles: measuredCycles.length,
      consideredJobs: sum((cycle) => cycle.report.considered),
      p50PlacementMs: round1(percentile(latencies, 0.5)),
      p99PlacementMs: round1(percentile(latencies, 0.99)),
      cycleSeconds: {
        read: round2(sum((cycle) => cycle.report.timings.readMs) / 1000),
        place: round2(sum((cycle) => cycle.report.timings.placeMs) / 1000),
        commit: round2(sum((cycle) => cycle.report.timings.commitMs) / 1000),
      },
      conflicts: sum((cycle) => cycle.report.conflicts),
    };
  } finally {
    clearInterval(progress);
    await loop.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The invariants, read after the run

interface Checked {
  violations: string[];
  jobs: EndToEndResult['jobs'];
  preemptions: number;
  p50SubmitToScheduledMs: number;
  p99SubmitToScheduledMs: number;
}

async function checkInvariants(db: Database): Promise<Checked> {
  const em = db.manager;
  const violations: string[] = [];
  const report = (message: string) => {
    if (violations.length < 20) violations.push(message);
  };
  const nodes = await em.find(Node);
  const attempts = await em.find(JobAttempt, {
    select: { id: true, jobId: true, number: true, nodeId: true, state: true, gpuIndices: true, cpuMillicores: true, memoryMib: true, scheduledAt: true },
  });
  const jobs = await em.find(Job, { select: { id: true, state: true, attempt: true, nodeId: true, unschedulableReason: true, createdAt: true, createdBy: true } });
  const events = await em.find(JobEvent, { select: { id: true, jobId: true, fromState: true, toState: true }, order: { id: 'ASC' } });

  const active = attempts.filter((attempt) => [AttemptState.SCHEDULED, AttemptState.STARTING, AttemptState.RUNNING].includes(attempt.state));
  const activeByNode = groupBy(active, (attempt) => attempt.nodeId);
  for (const node of nodes) {
    const mine = activeByNode.get(node.id) ?? [];
    const cpu = mine.reduce((sum, attempt) => sum + attempt.cpuMillicores, 0);
    const memory = mine.reduce((sum, attempt) => sum + attempt.memoryMib, 0);
    const gpus = mine.flatMap((attempt) => attempt.gpuIndices).sort((a, b) => a - b);
    if (node.allocatedCpu !== cpu || node.allocatedMemory !== memory) report(`${node.name}: counters ${node.allocatedCpu}/${node.allocatedMemory}, attempts ${cpu}/${memory}`);
    if (JSON.stringify([...node.allocatedGpus].sort((a, b) => a - b)) !== JSON.stringify(gpus)) report(`${node.name}: GPUs ${node.allocatedGpus} held, attempts ${gpus}`);
    if (cpu > node.allocatableCpu || memory > node.allocatableMemory) report(`${node.name}: over-committed (${cpu}/${node.allocatableCpu} CPU, ${memory}/${node.allocatableMemory} MiB)`);
    if (new Set(gpus).size !== gpus.length) report(`${node.name}: a GPU is given twice (${gpus})`);
    const exists = new Set(node.gpuList.map((gpu) => gpu.index));
    if (gpus.some((index) => !exists.has(index))) report(`${node.name}: a GPU it does not have is given (${gpus})`);
  }

  const activeByJob = groupBy(active, (attempt) => attempt.jobId);
  const attemptsByJob = groupBy(attempts, (attempt) => attempt.jobId);
  const eventsByJob = groupBy(events, (event) => event.jobId);
  const activeStates: string[] = [JobState.SCHEDULED, JobState.STARTING, JobState.RUNNING];
  const latencies: number[] = [];
  const jobCounts = { scheduled: 0, unschedulable: 0, preemptedOnce: 0 };
  for (const job of jobs) {
    const held = activeByJob.get(job.id) ?? [];
    if (activeStates.includes(job.state)) {
      const only = held[0];
      if (held.length !== 1 || !only) report(`job ${job.id} is ${job.state} with ${held.length} active attempts`);
      else if (only.number !== job.attempt || only.nodeId !== job.nodeId) report(`job ${job.id}: attempt ${job.attempt} on ${job.nodeId}, active attempt ${only.number} on ${only.nodeId}`);
    } else if (held.length > 0) report(`job ${job.id} is ${job.state} but holds ${held.length} attempts`);
    if ((QUEUED_STATES as string[]).includes(job.state) && job.nodeId !== null) report(`job ${job.id} is ${job.state} but names node ${job.nodeId}`);

    const trail = eventsByJob.get(job.id) ?? [];
    let state: string | null = null;
    for (const event of trail) {
      if (event.fromState !== state) report(`job ${job.id}: event ${event.fromState} -> ${event.toState} after ${state}`);
      state = event.toState;
    }
    if (state !== job.state) report(`job ${job.id} is ${job.state} but its last event says ${state}`);
    const placements = trail.filter((event) => event.toState === JobState.SCHEDULED).length;
    if (placements !== (attemptsByJob.get(job.id)?.length ?? 0)) report(`job ${job.id}: ${placements} SCHEDULED events, ${attemptsByJob.get(job.id)?.length ?? 0} attempts`);

    if (job.createdBy !== SUBMITTER.name) continue;
    if (job.state === JobState.SCHEDULED) jobCounts.scheduled += 1;
    else if ((QUEUED_STATES as string[]).includes(job.state) && job.unschedulableReason) jobCounts.unschedulable += 1;
    else report(`job ${job.id} ended the run ${job.state}, reason ${job.unschedulableReason}`);
    if (trail.some((event) => event.toState === JobState.PREEMPTED)) jobCounts.preemptedOnce += 1;
    const first = attemptsByJob.get(job.id)?.find((attempt) => attempt.number === 1);
    if (first) latencies.push(first.scheduledAt.getTime() - job.createdAt.getTime());
  }
  latencies.sort((a, b) => a - b);
  const preemptions = await em.countBy(JobAttempt, { state: In([AttemptState.PREEMPTED]) });
  return {
    violations,
    jobs: jobCounts,
    preemptions,
    p50SubmitToScheduledMs: percentile(latencies, 0.5),
    p99SubmitToScheduledMs: percentile(latencies, 0.99),
  };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

// ---------------------------------------------------------------------------------------------------------------
// The parent: each phase in a process of its own, then the figures

/** Runs this file again for one phase; the child answers with its result and exits. */
function runPhase<T>(phase: Phase): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [...process.argv.slice(2), '--phase', phase], { stdio: 'inherit' });
    let result: T | undefined;
    child.on('message', (message) => {
      result = message as T;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result !== undefined && code === 0) resolve(result);
      else reject(new Error(`the ${phase} phase failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

async function runChild(options: Options, phase: Phase): Promise<void> {
  const result = phase === 'placement' ? runPlacementPhase(options) : await runEndToEnd(phase, options);
  await new Promise<void>((resolve, reject) => process.send!(result, (error: Error | null) => (error ? reject(error) : resolve())));
  // Nothing is left to wait for; a pool's idle timer must not keep the parent waiting.
  process.exit(0);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return;
  if (options.phase) return runChild(options, options.phase);

  console.log(`Scheduler benchmark: ${options.jobs} jobs on ${options.nodes} nodes, ${options.strategy}, seed ${options.seed}`);
  console.log(`[placement] the placement module alone, in batches of ${options.batch}...`);
  const placement = await runPhase<PlacementPhaseResult>('placement');
  console.log(`[placement] ${placement.placementsPerSecond} jobs/s (per batch p50 ${placement.p50BatchMs} ms, p99 ${placement.p99BatchMs} ms)`);
  const endToEnd: Partial<Record<DatabaseKind, EndToEndResult>> = {};
  for (const kind of options.databases) endToEnd[kind] = await runPhase<EndToEndResult>(kind);

  const perDatabase = <K extends keyof EndToEndResult>(key: K) =>
    Object.fromEntries(options.databases.map((kind) => [kind, endToEnd[kind]![key]])) as Partial<Record<DatabaseKind, EndToEndResult[K]>>;
  const report = {
    benchmark: 'scheduler',
    timestamp: new Date().toISOString(),
    parameters: {
      nodes: options.nodes,
      jobs: options.jobs,
      seed: options.seed,
      strategy: options.strategy,
      moduleBatchSize: options.batch,
      submitBatch: options.submitBatch,
      submitters: options.submitters,
      mode: options.phased ? 'phased: submit all, then place' : 'overlapped: the loop places while jobs are submitted',
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
    },
    /** The placement module alone: jobs decided per second, in batches of --batch jobs. */
    placementsPerSecond: placement.placementsPerSecond,
    /** Submitted jobs per second, from the first submission until each is SCHEDULED or known unschedulable. */
    endToEndJobsPerSecond: perDatabase('endToEndJobsPerSecond'),
    submissionJobsPerSecond: perDatabase('submissionJobsPerSecond'),
    placementJobsPerSecond: perDatabase('placementJobsPerSecond'),
    /** Per placement cycle: for a database, read + decide + commit of one batch; for the module, one placeJobs call. */
    p50PlacementMs: { module: placement.p50BatchMs, ...perDatabase('p50PlacementMs') },
    p99PlacementMs: { module: placement.p99BatchMs, ...perDatabase('p99PlacementMs') },
    /** Per job: from its submission to its first attempt being scheduled. */
    p50SubmitToScheduledMs: perDatabase('p50SubmitToScheduledMs'),
    p99SubmitToScheduledMs: perDatabase('p99SubmitToScheduledMs'),
    peakRssMb: { placement: placement.peakRssMb, ...perDatabase('peakRssMb') },
    placementModule: placement,
    endToEnd,
  };

  console.log(`\nScheduler: ${options.jobs} jobs on ${options.nodes} nodes (${report.parameters.mode}); ${report.parameters.cpus} × ${report.parameters.cpuModel}, Node ${process.version}`);
  console.log(`  placement module alone: ${placement.placementsPerSecond} jobs/s in batches of ${options.batch} (whole backlog in one call: ${placement.wholeBacklogPlacementsPerSecond}/s), peak RSS ${placement.peakRssMb} MB`);
  for (const kind of options.databases) {
    const r = endToEnd[kind]!;
    console.log(
      [
        `  ${kind}: ${r.endToEndJobsPerSecond} jobs/s end to end (${r.endToEndSeconds} s); submission ${r.submissionJobsPerSecond}/s, placement ${r.placementJobsPerSecond}/s of loop time`,
        `    ${r.jobs.scheduled} scheduled, ${r.jobs.unschedulable} unschedulable, ${r.preemptions} preemptions, ${r.conflicts} conflicts`,
        `    ${r.cycles} cycles deciding ${r.consideredJobs} jobs in all: p50 ${r.p50PlacementMs} ms, p99 ${r.p99PlacementMs} ms; time in read ${r.cycleSeconds.read} s, place ${r.cycleSeconds.place} s, commit ${r.cycleSeconds.commit} s`,
        `    submission to scheduling p50 ${r.p50SubmitToScheduledMs} ms, p99 ${r.p99SubmitToScheduledMs} ms; peak RSS ${r.peakRssMb} MB`,
        `    invariants: ${r.invariants.length ? r.invariants.join('; ') : 'hold'}`,
      ].join('\n'),
    );
  }
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nWrote ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  if (options.databases.some((kind) => endToEnd[kind]!.invariants.length > 0)) process.exitCode = 1;
}

function peakRssMb(): number {
  return round1(process.resourceUsage().maxRSS / 1024);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
