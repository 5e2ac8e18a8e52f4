// Subscriptions benchmark: many graphql-ws subscribers on `jobUpdated` with a field from another subgraph (the
// registry's `modelVersion`), while jobs change state at a set rate. Measures the latency from the state change to
// the client, the events delivered per second, the gateway's CPU and peak memory, and the subgraph requests the
// gateway makes per event. Writes bench/results/subscriptions.json.
//
//   npx tsx bench/subscriptions.ts [--subscribers 1000] [--rate 1000] [--seconds 20] [--db sqlite|postgres] ...
//   (run with --help for every flag)
//
// Processes: each service in its own (bench/subscriptions-service.ts: the gateway, registry, scheduler, monitoring),
// the subscribers in one or more of their own (bench/subscriptions-clients.ts, one WebSocket per subscriber), and
// this one, which submits the jobs and reads every process's CPU time and peak memory from /proc.
// - State changes, at --rate per second on a schedule (open loop, whatever the answers' pace), by mutations sent
//   through the gateway as users send them, or straight to the scheduler subgraph (--via scheduler) so that the
//   gateway's figures are the subscriptions' alone. --changes cancel-retry (default): a pool of submitted jobs, each
//   cancelled (PENDING -> CANCELLED) and retried (CANCELLED -> PENDING) in turn, one mutation per change.
//   --changes submit: each change a new job (PENDING); submitJob asks the registry for the version inside its
//   transaction, which SQLite runs one at a time, so this path alone cannot reach high rates there. No node is
//   enrolled, so jobs stay queued. Every event the subscribers get is counted, whatever made it.
// - Latency: a result's arrival time at the subscriber minus the job's `updatedAt` as the event carries it (the time
//   the scheduler made the change, before its commit), same machine, same clock; 1 ms resolution at the source.
// - Where the latency goes: one more subscriber (in this process) subscribes to the scheduler subgraph directly, as
//   the gateway does; its latency is the scheduler's part (commit, its stream reader, its WebSocket), the rest is the
//   gateway's (the entity fetch to the registry, the fan-out) and the subscribers' own.
// - Subgraph requests per event: the gateway's own counters (RunningGateway.subscriptionStats: entityFetches /
//   events), read in its process.
// - What the subscribers watch (--watch): `model`, the changes spread evenly over --models models and each subscriber
//   filtering on one of them, so each change reaches subscribers/models of them (one upstream group per model); or
//   `all`, every subscriber every change (one group: the broadcast worst case, subscribers x rate messages a second).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { serviceIdentity, type Identity } from '../common/auth/identity';
import { signedHeaders, subscriptionRequest, SUBSCRIPTION_CONNECT } from '../common/auth/request-signature';
import type { SubscriptionStats } from '../gateway/subscriptions/federated-subscriptions';
import { HISTOGRAM_STEP_MS, type ClientsMessage, type ClientsReport, type ClientsRequest, type ClientsSnapshot } from './subscriptions-clients';
import type { ServiceMessage, ServiceReport, ServiceRequest } from './subscriptions-service';
import {
  type BenchDatabase,
  cpuSecondsIfAlive,
  createDatabase,
  forkProcess,
  type ForkedProcess,
  graphqlUrl,
  loggedWarnings,
  machineTicks,
  makeDataDir,
  onCleanup,
  platformEnvironment,
  positiveNumber,
  progress,
  resetPeakRss,
  round1,
  round2,
  runBenchmark,
  sleep,
  stopIfInterrupted,
  stopService,
  UsageError,
  wholeNumber,
} from './support';

const USAGE = `Usage: npx tsx bench/subscriptions.ts [flags]

  --subscribers N        graphql-ws subscribers, one WebSocket each, all on the same operation (default 1000)
  --watch model|all      what each subscriber watches: model (default) filter {model: ...} on one of the --models
                         models, subscribers spread evenly, so each change reaches subscribers/models of them (one
                         upstream group per model: the dashboard case); all: no filter, every subscriber gets every
                         change (one group: the broadcast worst case)
  --models M             models the changes are spread evenly over, each with a registered version (default 100)
  --rate N               job state changes per second to cause, one mutation each (default 1000)
  --changes cancel-retry|submit
                         how: cancel and retry jobs of a pool in turn (default; cheap mutations), or submit a new
                         job per change (submitJob calls the registry inside its transaction: slower, on SQLite serial)
  --seconds S            measured seconds (default 20)
  --warmup S             seconds of the same load before measuring, discarded (default 5)
  --drain S              after the measured window, how long to wait for results still on their way (default 15)
  --client-processes N   processes the subscribers are spread over (default: 2 from 200 subscribers, else 1)
  --via scheduler|gateway
                         where the mutations go: straight to the scheduler subgraph (default; signed as the gateway
                         signs), so the gateway's CPU is the subscriptions' alone, or through the gateway as users send
                         them (which costs the gateway about 0.5 ms CPU per mutation, and reaches fewer changes/s)
  --max-in-flight N      mutations waiting for an answer at most; past it the schedule slips (default 200)
  --db sqlite|postgres   where the services keep their data (default sqlite: on one machine it carries more changes/s
                         than PostgreSQL, whose transactions queue on the stream's head row, which adds to the latency)
  --postgres-url URL     server on which a database is created (and dropped) for --db postgres
                         (default postgres://postgres@127.0.0.1:5432/test)
  --subscriber-buffer N  results that may wait for one subscriber before the gateway cuts it off
                         (TOUCHLINE_SUBSCRIBER_BUFFER; default: the gateway's own, 1000)
  --help                 show this help

Latency is measured from the job's updatedAt (when the scheduler made the change) to the result's arrival at the
subscriber. eventsPerSecond counts results delivered to subscribers (each event once per subscriber that got it).
The change rate achieved is reported next to the one requested: each mutation costs the scheduler process about
2.3 ms of CPU, so one scheduler carries some 400 changes/s on this kind of machine, whatever the database.`;

const SUBSCRIPTION = `subscription JobBoard($filter: JobUpdatesFilter) {
  jobUpdated(filter: $filter) { id state sequence updatedAt node { name } modelVersion { version model { name } } }
}`;
const SUBMIT = 'mutation Submit($input: SubmitJobInput!) { submitJob(input: $input) { job { id } userErrors { message } } }';
const VERSION = '1.4.0';
/** The name of the index-th model of the run (from 0): xg-model-001, xg-model-002, ... */
const modelName = (index: number) => `xg-model-${String(index + 1).padStart(3, '0')}`;
const ADMIN_KEY = `tl_bench-${randomBytes(16).toString('hex')}`;
const INTERNAL_SECRET = randomBytes(32).toString('hex');
/** Who submits when --via scheduler: an operator, as the gateway would sign for one. */
const SUBMITTER: Identity = { kind: 'apiKey', id: 'subscriptions-benchmark', name: 'subscriptions benchmark', role: 'operator' };
const READY_TIMEOUT_MS = 120_000;
const SUBSCRIBE_TIMEOUT_MS = 120_000;
const REQUEST_TIMEOUT_MS = 30_000;
const PROGRESS_EVERY_MS = 2_000;
const OTHER_LOAD_WARNING_PERCENT = 15;
/** Below this share of the requested change rate, the summary says the rate was not reached. */
const SHORT_OF_RATE = 0.95;
const POSTGRES_GROUP = 'postgres backends';

const RESULTS_FILE = path.join(__dirname, 'results/subscriptions.json');

// ---------------------------------------------------------------------------------------------------------------
// Options

type Watch = 'model' | 'all';

interface Options {
  subscribers: number;
  watch: Watch;
  models: number;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  drainSeconds: number;
  clientProcesses: number;
  submitVia: 'gateway' | 'scheduler';
  changes: 'cancel-retry' | 'submit';
  maxInFlight: number;
  db: 'sqlite' | 'postgres';
  postgresUrl: string;
  subscriberBuffer: number | undefined;
}

function parseOptions(argv: string[]): Options | undefined {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        subscribers: { type: 'string', default: '1000' },
        watch: { type: 'string', default: 'model' },
        models: { type: 'string', default: '100' },
        rate: { type: 'string', default: '1000' },
        seconds: { type: 'string', default: '20' },
        warmup: { type: 'string', default: '5' },
        drain: { type: 'string', default: '15' },
        'client-processes': { type: 'string' },
        via: { type: 'string', default: 'scheduler' },
        changes: { type: 'string', default: 'cancel-retry' },
        'max-in-flight': { type: 'string', default: '200' },
        db: { type: 'string', default: 'sqlite' },
        'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
        'subscriber-buffer': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  if (values.db !== 'sqlite' && values.db !== 'postgres') throw new UsageError(`--db must be sqlite or postgres (got ${values.db})`);
  const via = values.via;
  if (via !== 'gateway' && via !== 'scheduler') throw new UsageError(`--via must be gateway or scheduler (got ${via})`);
  const watch = values.watch;
  if (watch !== 'model' && watch !== 'all') throw new UsageError(`--watch must be model or all (got ${watch})`);
  const changes = values.changes;
  if (changes !== 'cancel-retry' && changes !== 'submit') throw new UsageError(`--changes must be cancel-retry or submit (got ${changes})`);
  const subscribers = wholeNumber('--subscribers', values.subscribers, 1);
  const clientProcesses = values['client-processes'] === undefined ? (subscribers >= 200 ? 2 : 1) : wholeNumber('--client-processes', values['client-processes'], 1);
  return {
    subscribers,
    watch,
    models: wholeNumber('--models', values.models, 1),
    rate: positiveNumber('--rate', values.rate),
    seconds: positiveNumber('--seconds', values.seconds),
    warmupSeconds: wholeNumber('--warmup', values.warmup, 0),
    drainSeconds: wholeNumber('--drain', values.drain, 1),
    clientProcesses: Math.min(clientProcesses, subscribers),
    submitVia: via,
    changes,
    maxInFlight: wholeNumber('--max-in-flight', values['max-in-flight'], 1),
    db: values.db,
    postgresUrl: values['postgres-url'],
    subscriberBuffer: values['subscriber-buffer'] === undefined ? undefined : wholeNumber('--subscriber-buffer', values['subscriber-buffer'], 1),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes: forked from this file's folder (so they run under tsx too), spoken to over IPC.

let requestIds = 0;

/** A service's figures; it answers from its event loop, so a saturated service answers late. */
async function askService(service: ForkedProcess<ServiceMessage>, timeoutMs = 120_000): Promise<ServiceReport> {
  const id = ++requestIds;
  service.process.send({ type: 'report', id } satisfies ServiceRequest);
  const answer = await service.next((m): m is Extract<ServiceMessage, { type: 'report' }> => m.type === 'report' && m.id === id, timeoutMs);
  return answer.report;
}

async function askClients<K extends 'snapshot' | 'report'>(clients: ForkedProcess<ClientsMessage>, type: K, timeoutMs = 30_000) {
  const id = ++requestIds;
  clients.process.send({ type, id } satisfies ClientsRequest);
  const answer = await clients.next((m): m is Extract<ClientsMessage, { type: K }> => m.type === type && 'id' in m && m.id === id, timeoutMs);
  return answer as Extract<ClientsMessage, { type: K }>;
}

// ---------------------------------------------------------------------------------------------------------------
// The platform: three subgraphs and the gateway, each a process, on ports the OS chose.

interface Platform {
  gatewayUrl: string;
  schedulerUrl: string;
  gateway: ForkedProcess<ServiceMessage>;
  all: ForkedProcess<ServiceMessage>[];
}

async function startService(name: string, env: Record<string, string>): Promise<ForkedProcess<ServiceMessage>> {
  const service = forkProcess<ServiceMessage>(name, path.join(__dirname, 'subscriptions-service.ts'), [name], env);
  const answer = await service.next((m): m is Exclude<ServiceMessage, { type: 'report' }> => m.type === 'ready' || m.type === 'failed', READY_TIMEOUT_MS);
  if (answer.type === 'failed') throw new Error(`${name} could not start: ${answer.error}\n${service.output()}`);
  return service;
}

async function startPlatform(options: Options, dataDir: string, databaseUrl: string | undefined): Promise<Platform> {
  const { ports, env: platformEnv } = await platformEnvironment({ dataDir, databaseUrl, internalSecret: INTERNAL_SECRET, adminKey: ADMIN_KEY });
  const env: Record<string, string> = {
    ...platformEnv,
    // One key holds every subscriber; the default cap (1,000 per key) would refuse the last of a larger run.
    TOUCHLINE_MAX_SUBSCRIPTIONS_PER_KEY: String(options.subscribers + 100),
    // The supergraph does not change during the run: no composition polling in the measurement.
    TOUCHLINE_COMPOSE_POLL_SECONDS: '0',
    ...(options.subscriberBuffer === undefined ? {} : { TOUCHLINE_SUBSCRIBER_BUFFER: String(options.subscriberBuffer) }),
  };
  progress('starting the registry, scheduler and monitoring subgraphs (one process each)');
  const subgraphs = await Promise.all(['registry', 'scheduler', 'monitoring'].map((name) => startService(name, env)));
  progress('starting the gateway (it composes the supergraph from the running subgraphs)');
  const gateway = await startService('gateway', env);
  return { gatewayUrl: graphqlUrl(ports.gateway), schedulerUrl: graphqlUrl(ports.scheduler), gateway, all: [gateway, ...subgraphs] };
}

// ---------------------------------------------------------------------------------------------------------------
// Requests: the seeding mutations, and the mutations that cause the state changes.

interface Target {
  url: URL;
  headers(body: string): Record<string, string>;
}

function gatewayTarget(url: string): Target {
  return { url: new URL(url), headers: (body) => ({ 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}`, 'content-length': String(Buffer.byteLength(body)) }) };
}

/** The scheduler subgraph, called as the gateway calls it: each request signed over its body. */
function schedulerTarget(url: string): Target {
  const parsed = new URL(url);
  return {
    url: parsed,
    headers: (body) => ({
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      ...signedHeaders(INTERNAL_SECRET, SUBMITTER, { method: 'POST', path: parsed.pathname, body }),
    }),
  };
}

function post(agent: http.Agent | undefined, target: Target, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(target.url, { method: 'POST', agent, headers: target.headers(body), timeout: REQUEST_TIMEOUT_MS }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    request.on('error', reject);
    request.end(body);
  });
}

/** Why a mutation's answer is not a success, or undefined when it is. */
function problemOf(status: number, text: string): string | undefined {
  if (status !== 200) return `HTTP ${status}: ${text.slice(0, 200)}`;
  try {
    const parsed = JSON.parse(text) as { data?: Record<string, { userErrors?: { message: string }[] } | null>; errors?: { message: string }[] };
    const payload = parsed.data && Object.values(parsed.data)[0];
    const problems = [...(parsed.errors ?? []), ...(payload?.userErrors ?? [])].map((error) => error.message);
    if (problems.length > 0) return problems.join('; ');
    return payload ? undefined : `no data: ${text.slice(0, 200)}`;
  } catch {
    return `not JSON: ${text.slice(0, 200)}`;
  }
}

/** Registers the run's models, each with one version: every event needs its model's name and version from the registry. */
async function seed(gatewayUrl: string, models: number): Promise<void> {
  progress(`registering ${models} model${models === 1 ? '' : 's'} (${modelName(0)}${models > 1 ? ` to ${modelName(models - 1)}` : ''}), each with version ${VERSION}`);
  const target = gatewayTarget(gatewayUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const send = async (query: string, input: Record<string, unknown>) => {
    const response = await post(agent, target, JSON.stringify({ query, variables: { input } }));
    const problem = problemOf(response.status, response.body);
    if (problem) throw new Error(`seeding failed: ${problem}`);
  };
  let next = 0;
  try {
    await Promise.all(Array.from({ length: Math.min(8, models) }, async () => {
      while (next < models) {
        stopIfInterrupted();
        const name = modelName(next++);
        await send('mutation($input: CreateModelInput!) { createModel(input: $input) { model { id } userErrors { message } } }', { name, sport: 'football', owner: 'analytics-team' });
        await send(
          'mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { modelVersion { id } userErrors { message } } }',
          { model: name, version: VERSION, command: ['sh', '-c', 'echo scoring'] },
        );
      }
    }));
  } finally {
    agent.destroy();
  }
}

const CANCEL = 'mutation Cancel($input: CancelJobInput!) { cancelJob(input: $input) { job { id } userErrors { message } } }';
const RETRY = 'mutation Retry($input: RetryJobInput!) { retryJob(input: $input) { job { id } userErrors { message } } }';
const submitBody = (model: string) => JSON.stringify({ query: SUBMIT, variables: { input: { modelVersion: { model, version: VERSION }, name: 'nightly-xg-scoring' } } });

interface Submissions {
  /** Mutations sent, each meant to make one state change. */
  sent: number;
  succeeded: number;
  errors: number;
  errorSamples: string[];
  /** State changes that were due on the schedule but not sent: --max-in-flight mutations were already waiting. */
  slipped: number;
  latenciesMs: number[];
}

/** A job of the cancel-retry pool and the mutation that changes its state next. */
interface PooledJob {
  id: string;
  next: 'cancel' | 'retry';
}

/**
 * Submits the jobs of the cancel-retry pool (each a PENDING change too, before the measurement), the models in turn,
 * in that order: the pool is used in turn too, so the changes are spread evenly over the models.
 */
async function submitPool(target: Target, size: number, models: number): Promise<PooledJob[]> {
  progress(`submitting ${size} jobs over ${models} model${models === 1 ? '' : 's'}, whose state the run changes back and forth (cancelJob, retryJob)`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const pool: PooledJob[] = new Array<PooledJob>(size);
  let next = 0;
  try {
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < size) {
        stopIfInterrupted();
        const index = next++;
        const response = await post(agent, target, submitBody(modelName(index % models)));
        const problem = problemOf(response.status, response.body);
        if (problem) throw new Error(`could not submit a job: ${problem}`);
        const id = (JSON.parse(response.body) as { data: { submitJob: { job: { id: string } } } }).data.submitJob.job.id;
        pool[index] = { id, next: 'cancel' };
      }
    }));
  } finally {
    agent.destroy();
  }
  return pool;
}

/**
 * Makes state changes on a schedule of `rate` per second (open loop: a slow answer does not delay the next one, up
 * to `maxInFlight` waiting at once), until `stop()`: each a job submitted (PENDING), or with a pool, a job of the
 * pool cancelled (PENDING -> CANCELLED) or retried (CANCELLED -> PENDING), one mutation at a time per job.
 */
function startChanges(target: Target, rate: number, maxInFlight: number, models: number, pool: PooledJob[] | undefined) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight, maxFreeSockets: maxInFlight });
  const idle = pool ? [...pool] : [];
  const fresh = (): Submissions => ({ sent: 0, succeeded: 0, errors: 0, errorSamples: [], slipped: 0, latenciesMs: [] });
  let counters = fresh();
  let inFlight = 0;
  let submitted = 0;
  const changeOne = () => {
    const mine = counters;
    const job = pool ? idle.shift()! : undefined;
    const body = !job ? submitBody(modelName(submitted++ % models)) : JSON.stringify({ query: job.next === 'cancel' ? CANCEL : RETRY, variables: { input: { id: job.id } } });
    mine.sent++;
    inFlight++;
    const sentAt = performance.now();
    const noteError = (message: string) => {
      mine.errors++;
      if (mine.errorSamples.length < 5 && !mine.errorSamples.includes(message)) mine.errorSamples.push(message);
    };
    post(agent, target, body)
      .then(
        (response) => {
          const problem = problemOf(response.status, response.body);
          if (problem) noteError(problem);
          else {
            mine.succeeded++;
            mine.latenciesMs.push(performance.now() - sentAt);
          }
          if (!job) return;
          // A refusal says which state the job is in: "already ended" (cancelled) or "only ... can be retried".
          if (!problem) job.next = job.next === 'cancel' ? 'retry' : 'cancel';
          else if (/already ended/.test(problem)) job.next = 'retry';
          else if (/can be retried/.test(problem)) job.next = 'cancel';
        },
        (error: unknown) => noteError(`request failed: ${(error as Error).message}`),
      )
      .finally(() => {
        inFlight--;
        if (job) idle.push(job);
      });
  };
  const started = performance.now();
  let due = 0;
  const timer = setInterval(() => {
    const shouldHaveSent = Math.floor(((performance.now() - started) / 1000) * rate);
    while (due < shouldHaveSent) {
      if (inFlight >= maxInFlight || (pool && idle.length === 0)) {
        counters.slipped += shouldHaveSent - due;
        due = shouldHaveSent; // the schedule moves on: what could not be sent is not sent late in a burst
        break;
      }
      due++;
      changeOne();
    }
  }, 2);
  return {
    /** Starts counting afresh (the warm-up's changes are left out); returns what was counted so far. */
    restart(): Submissions {
      const before = counters;
      counters = fresh();
      return before;
    },
    current: () => counters,
    inFlight: () => inFlight,
    async stop(): Promise<Submissions> {
      clearInterval(timer);
      const deadline = Date.now() + REQUEST_TIMEOUT_MS;
      while (inFlight > 0 && Date.now() < deadline) await sleep(20);
      agent.destroy();
      return counters;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Process figures from /proc: CPU time (utime + stime) and peak resident memory (VmHWM).

function statusMb(pid: number, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

interface WatchedGroup {
  name: string;
  pids: number[];
  memory: boolean;
}

interface ProcessFigures {
  cpuPercent: number;
  peakRssMb: number;
  /** False when the peak could not be reset: it is then the peak of the process's whole life. */
  peakIsWindowOnly: boolean;
}

/** CPU of each group (in % of one core: 200 % is both cores of a 2-core machine) and peak RSS over a window. */
function watchProcesses(groups: WatchedGroup[]) {
  const pids = [...new Set(groups.flatMap((group) => group.pids))];
  const reset = new Map(groups.filter((group) => group.memory).flatMap((group) => group.pids).map((pid) => [pid, resetPeakRss(pid)]));
  const before = new Map(pids.map((pid) => [pid, cpuSecondsIfAlive(pid)]));
  const ownBefore = process.cpuUsage();
  const machineBefore = machineTicks();
  const started = performance.now();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const percent = (cpu: number) => round1((cpu / seconds) * 100);
    const cpuOf = new Map(pids.map((pid) => {
      const start = before.get(pid);
      const end = cpuSecondsIfAlive(pid);
      return [pid, start === undefined || end === undefined ? 0 : end - start];
    }));
    const processes: Record<string, ProcessFigures> = {};
    for (const group of groups) {
      processes[group.name] = {
        cpuPercent: percent(group.pids.reduce((sum, pid) => sum + cpuOf.get(pid)!, 0)),
        peakRssMb: group.memory ? round1(group.pids.reduce((sum, pid) => sum + statusMb(pid, 'VmHWM'), 0)) : NaN,
        peakIsWindowOnly: group.pids.every((pid) => reset.get(pid) === true),
      };
    }
    const own = process.cpuUsage(ownBefore);
    const ownSeconds = (own.user + own.system) / 1e6;
    const machineAfter = machineTicks();
    const machineSeconds = ((machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total)) * os.cpus().length * seconds;
    const ours = [...cpuOf.values()].reduce((sum, cpu) => sum + cpu, 0) + ownSeconds;
    return {
      processes,
      submitterCpuPercent: percent(ownSeconds),
      machineCpuPercent: percent(machineSeconds),
      otherCpuPercent: Math.max(0, percent(machineSeconds - ours)),
    };
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Subscribers

/** The variables of the index-th subscriber (from 0): in `model` mode the models in turn, so each has as many watchers. */
function subscriberVariables(options: Options, index: number): Record<string, unknown> {
  return options.watch === 'model' ? { filter: { model: modelName(index % options.models) } } : {};
}

/** How many subscribers watch each change of a job of `model`. */
function watchersOf(options: Options, model: string): number {
  if (options.watch === 'all') return options.subscribers;
  let watchers = 0;
  for (let index = 0; index < options.subscribers; index++) if (modelName(index % options.models) === model) watchers++;
  return watchers;
}

async function startSubscribers(options: Options, platform: Platform): Promise<ForkedProcess<ClientsMessage>[]> {
  const shares = Array.from({ length: options.clientProcesses }, (_, index) =>
    Math.floor(options.subscribers / options.clientProcesses) + (index < options.subscribers % options.clientProcesses ? 1 : 0));
  const firstOf = shares.map((_, index) => shares.slice(0, index).reduce((sum, share) => sum + share, 0));
  progress(`opening ${options.subscribers} subscriptions (one WebSocket each) from ${shares.length} client process${shares.length > 1 ? 'es' : ''}`);
  const started = performance.now();
  const env = { PATH: process.env.PATH ?? '' };
  const clients = shares.map((_, index) => forkProcess<ClientsMessage>(`subscribers ${index + 1}`, path.join(__dirname, 'subscriptions-clients.ts'), [], env));
  const opened = await Promise.all(
    clients.map(async (child, index) => {
      child.process.send({
        type: 'open',
        setup: {
          url: platform.gatewayUrl,
          key: ADMIN_KEY,
          count: shares[index]!,
          query: SUBSCRIPTION,
          variables: Array.from({ length: shares[index]! }, (_, own) => subscriberVariables(options, firstOf[index]! + own)),
          openConcurrency: 20,
        },
      } satisfies ClientsRequest);
      return child.next((m): m is Extract<ClientsMessage, { type: 'opened' }> => m.type === 'opened', SUBSCRIBE_TIMEOUT_MS);
    }),
  );
  const failed = opened.reduce((sum, answer) => sum + answer.failed, 0);
  if (failed > 0) throw new Error(`${failed} of ${options.subscribers} connections failed, for example: ${opened.find((answer) => answer.firstError)?.firstError}`);
  // Connected is not yet subscribed: wait until the gateway counts every subscriber.
  const deadline = Date.now() + SUBSCRIBE_TIMEOUT_MS;
  for (;;) {
    stopIfInterrupted();
    const stats = (await askService(platform.gateway)).stats;
    if (stats && stats.subscribers >= options.subscribers) {
      progress(`${stats.subscribers} subscribers in ${stats.groups} group${stats.groups === 1 ? '' : 's'} at the gateway after ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return clients;
    }
    if (Date.now() > deadline) throw new Error(`only ${stats?.subscribers ?? 0} of ${options.subscribers} subscriptions reached the gateway`);
    await sleep(200);
  }
}

async function snapshotSubscribers(clients: ForkedProcess<ClientsMessage>[]): Promise<ClientsSnapshot> {
  const snapshots = await Promise.all(clients.map(async (child) => (await askClients(child, 'snapshot')).snapshot));
  return snapshots.reduce((sum, s) => ({
    received: sum.received + s.received,
    incomplete: sum.incomplete + s.incomplete,
    ended: sum.ended + s.ended,
    cpuMicros: sum.cpuMicros + s.cpuMicros,
    rssBytes: sum.rssBytes + s.rssBytes,
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// The probe: one subscription straight to the scheduler subgraph, signed as the gateway signs its own.

const PROBE_SUBSCRIPTION = 'subscription Probe($filter: JobUpdatesFilter) { jobUpdated(filter: $filter) { sequence updatedAt } }';

interface Probe {
  setWindow(from: number, to: number): void;
  /** Latencies (ms) of the events that arrived in the window. */
  latenciesMs(): number[];
  dispose(): Promise<void>;
}

/** `variables`: those of the first subscriber, so that the probe gets what one of them gets. */
function startProbe(schedulerUrl: string, variables: Record<string, unknown>): Probe {
  const client: Client = createClient({
    url: schedulerUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: () => signedHeaders(INTERNAL_SECRET, serviceIdentity('gateway'), SUBSCRIPTION_CONNECT),
  });
  const latencies: number[] = [];
  let window: { from: number; to: number } | undefined;
  client.subscribe<{ jobUpdated?: { updatedAt?: string } }>(
    {
      query: PROBE_SUBSCRIPTION,
      variables,
      extensions: signedHeaders(INTERNAL_SECRET, SUBMITTER, subscriptionRequest({ query: PROBE_SUBSCRIPTION, variables })),
    },
    {
      next: (result) => {
        const arrived = performance.timeOrigin + performance.now();
        const changedAt = Date.parse(result.data?.jobUpdated?.updatedAt ?? '');
        if (window && arrived >= window.from && arrived < window.to && Number.isFinite(changedAt)) latencies.push(Math.max(0, arrived - changedAt));
      },
      error: (error) => console.warn(`  the probe's subscription to the scheduler ended: ${JSON.stringify(error).slice(0, 300)}`),
      complete: () => undefined,
    },
  );
  const probe: Probe = {
    setWindow: (from, to) => (window = { from, to }),
    latenciesMs: () => latencies,
    dispose: async () => {
      await client.dispose();
    },
  };
  onCleanup('close the probe', () => probe.dispose());
  return probe;
}

// ---------------------------------------------------------------------------------------------------------------
// The run

interface Window {
  seconds: number;
  submissions: Submissions;
  stats: SubscriptionStats;
  machine: ReturnType<ReturnType<typeof watchProcesses>>;
  clientCpuPercent: number;
  drainSeconds: number;
  drained: boolean;
  reports: ClientsReport[];
  probeLatenciesMs: number[];
  /** The gateway's counters since it started, read after the drain: every event received by then has been completed. */
  statsAtEnd: SubscriptionStats;
}

async function runLoad(options: Options, platform: Platform, clients: ForkedProcess<ClientsMessage>[], probe: Probe, database: BenchDatabase | undefined): Promise<Window> {
  const target = options.submitVia === 'gateway' ? gatewayTarget(platform.gatewayUrl) : schedulerTarget(platform.schedulerUrl);
  const poolSize = Math.ceil((options.maxInFlight + 50) / options.models) * options.models;
  const pool = options.changes === 'cancel-retry' ? await submitPool(target, poolSize, options.models) : undefined;
  const submitter = startChanges(target, options.rate, options.maxInFlight, options.models, pool);
  try {
    if (options.warmupSeconds > 0) {
      progress(`warming up for ${options.warmupSeconds} s: ${options.rate} changes/s (${options.changes}) via the ${options.submitVia} (discarded)`);
      await sleep(options.warmupSeconds * 1000);
      stopIfInterrupted();
      const warm = submitter.current();
      if (warm.errors > 0) console.warn(`  ${warm.errors} mutations failed while warming up, for example: ${warm.errorSamples[0]}`);
    }

    progress(`measuring for ${options.seconds} s: ${options.rate} changes/s (${options.changes}) via the ${options.submitVia}, ${options.subscribers} subscribers`);
    const groups: WatchedGroup[] = [
      ...platform.all.map((service) => ({ name: service.name, pids: [service.pid], memory: true })),
      { name: 'subscribers', pids: clients.map((child) => child.pid), memory: true },
      ...(database ? [{ name: POSTGRES_GROUP, pids: await database.backendPids(), memory: false }] : []),
    ];
    const statsBefore = (await askService(platform.gateway)).stats!;
    const clientsBefore = await snapshotSubscribers(clients);
    // Everything counted over the same window, from here: the questions above may take a while when saturated.
    const from = Date.now();
    const to = from + options.seconds * 1000;
    for (const child of clients) child.process.send({ type: 'window', from, to } satisfies ClientsRequest);
    probe.setWindow(from, to);
    submitter.restart();
    const finish = watchProcesses(groups);
    const windowStart = performance.now();

    let last = { at: windowStart, received: clientsBefore.received, sent: 0, gatewayCpu: cpuSecondsIfAlive(platform.gateway.pid) ?? 0 };
    while (Date.now() < to) {
      await sleep(Math.min(PROGRESS_EVERY_MS, Math.max(0, to - Date.now())));
      stopIfInterrupted();
      if (Date.now() >= to) break;
      const now = performance.now();
      const [gateway, subscribers] = await Promise.all([askService(platform.gateway, 1_500).catch(() => undefined), snapshotSubscribers(clients)]);
      const submissions = submitter.current();
      const gatewayCpu = cpuSecondsIfAlive(platform.gateway.pid) ?? 0;
      const seconds = (now - last.at) / 1000;
      const gatewayFigures = gateway
        ? `RSS ${Math.round(gateway.rssBytes / 2 ** 20)} MB, ${gateway.stats!.events - statsBefore.events} events, ${gateway.stats!.entityFetches - statsBefore.entityFetches} entity fetches`
        : `RSS ${Math.round(statusMb(platform.gateway.pid, 'VmRSS'))} MB, its event loop too busy to report within 1.5 s`;
      progress(
        `${((now - windowStart) / 1000).toFixed(0).padStart(3)} s: ${Math.round((submissions.sent - last.sent) / seconds)} mutations/s sent ` +
          `(${submitter.inFlight()} waiting, ${submissions.errors} failed), ${Math.round((subscribers.received - last.received) / seconds)} results/s delivered; ` +
          `gateway ${Math.round(((gatewayCpu - last.gatewayCpu) / seconds) * 100)} % CPU, ${gatewayFigures}` +
          (subscribers.ended > 0 ? `, ${subscribers.ended} subscriptions ended` : ''),
      );
      last = { at: now, received: subscribers.received, sent: submissions.sent, gatewayCpu };
    }
    const machine = finish();
    const seconds = (performance.now() - windowStart) / 1000;
    // The window's mutations, cut here: a saturated gateway answers the next questions late, and changes made
    // meanwhile are not the window's. (Those in flight still count as they are answered.)
    const submissions = submitter.restart();
    const statsAfter = (await askService(platform.gateway)).stats!;
    const clientsAfter = await snapshotSubscribers(clients);
    await submitter.stop();

    // Results still on their way when the window closed: wait until none has arrived for a second.
    progress(`window closed; waiting up to ${options.drainSeconds} s for results still on their way`);
    const drainStart = performance.now();
    let received = (await snapshotSubscribers(clients)).received;
    let quietSince = performance.now();
    let drained = false;
    while (performance.now() - drainStart < options.drainSeconds * 1000) {
      await sleep(250);
      stopIfInterrupted();
      const now = (await snapshotSubscribers(clients)).received;
      if (now !== received) {
        received = now;
        quietSince = performance.now();
      } else if (performance.now() - quietSince >= 1_000) {
        drained = true;
        break;
      }
    }
    const drainSeconds = Math.max(0, (quietSince - drainStart) / 1000);
    const reports = await Promise.all(clients.map(async (child) => (await askClients(child, 'report')).report));
    const statsAtEnd = (await askService(platform.gateway)).stats!;
    return {
      seconds,
      submissions,
      stats: {
        groups: statsAfter.groups,
        subscribers: statsAfter.subscribers,
        events: statsAfter.events - statsBefore.events,
        entityFetches: statsAfter.entityFetches - statsBefore.entityFetches,
      },
      machine,
      clientCpuPercent: round1(((clientsAfter.cpuMicros - clientsBefore.cpuMicros) / 1e6 / seconds) * 100),
      drainSeconds: round2(drainSeconds),
      drained,
      reports,
      probeLatenciesMs: probe.latenciesMs(),
      statsAtEnd,
    };
  } finally {
    await submitter.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

/** Nearest-rank percentile from the merged histogram (and the latencies beyond it). */
function histogramPercentile(histogram: number[], overflow: number[], total: number, p: number): number {
  if (total === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let bucket = 0; bucket < histogram.length; bucket++) {
    seen += histogram[bucket]!;
    if (seen >= rank) return (bucket + 1) * HISTOGRAM_STEP_MS;
  }
  const sorted = [...overflow].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, rank - seen - 1)] ?? NaN;
}

function sortedPercentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function buildReport(options: Options, platform: Platform, window: Window) {
  const histogram: number[] = [];
  for (const report of window.reports) report.histogram.forEach((count, bucket) => (histogram[bucket] = (histogram[bucket] ?? 0) + count));
  for (let bucket = 0; bucket < histogram.length; bucket++) histogram[bucket] ??= 0;
  const overflow = window.reports.flatMap((report) => report.overflow);
  const delivered = window.reports.reduce((sum, report) => sum + report.windowReceived, 0);
  const latency = (p: number) => round2(histogramPercentile(histogram, overflow, delivered, p));
  let latencySum = 0;
  histogram.forEach((count, bucket) => (latencySum += count * (bucket + 0.5) * HISTOGRAM_STEP_MS));
  latencySum += overflow.reduce((sum, value) => sum + value, 0);

  // Completeness: every event whose change happened in the window, and how many subscribers got it.
  const bySequence = new Map<string, { count: number; model: string }>();
  for (const report of window.reports) {
    for (const [sequence, { count, model }] of Object.entries(report.receivedBySequence)) {
      const seen = bySequence.get(sequence);
      if (seen) seen.count += count;
      else bySequence.set(sequence, { count, model });
    }
  }
  const changes = bySequence.size;
  const watchers = new Map<string, number>();
  let deliveriesOfWindowChanges = 0;
  let expectedDeliveries = 0;
  for (const { count, model } of bySequence.values()) {
    if (!watchers.has(model)) watchers.set(model, watchersOf(options, model));
    deliveriesOfWindowChanges += count;
    expectedDeliveries += watchers.get(model)!;
  }
  const achievedChangesPerSecond = round1(window.submissions.succeeded / window.seconds);
  const submitLatencies = [...window.submissions.latenciesMs].sort((a, b) => a - b);
  const probeLatencies = [...window.probeLatenciesMs].sort((a, b) => a - b);
  const gatewayFigures = window.machine.processes.gateway!;
  const closeReasons: Record<string, number> = {};
  for (const report of window.reports) for (const [reason, count] of Object.entries(report.closeReasons)) closeReasons[reason] = (closeReasons[reason] ?? 0) + count;

  return {
    benchmark: 'subscriptions',
    timestamp: new Date().toISOString(),
    /** What each subscriber watches: one model of --models (model), or every change (all). */
    watch: options.watch,
    parameters: {
      subscribers: options.subscribers,
      watch: options.watch,
      models: options.models,
      rate: options.rate,
      seconds: options.seconds,
      warmupSeconds: options.warmupSeconds,
      clientProcesses: options.clientProcesses,
      via: options.submitVia,
      changes: options.changes,
      maxInFlight: options.maxInFlight,
      db: options.db,
      subscriberBuffer: options.subscriberBuffer ?? 'default',
      subscription: SUBSCRIPTION.replace(/\s+/g, ' '),
      variables: options.watch === 'model' ? { filter: { model: `one of ${modelName(0)} to ${modelName(options.models - 1)}, in turn` } } : {},
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
    },
    method: {
      stateChanges:
        options.changes === 'submit'
          ? 'each job submitted is one state change (PENDING); no node is enrolled, so jobs stay queued'
          : 'jobs of a pool cancelled (PENDING -> CANCELLED) and retried (CANCELLED -> PENDING) in turn, one mutation per change',
      latency: "result's arrival at the subscriber minus the job's updatedAt in the event (when the scheduler made the change); same clock",
      eventsPerSecond: 'results that arrived at subscribers during the measured window, per second (each event counts once per subscriber)',
      subgraphRequestsPerEvent:
        "the gateway's RunningGateway.subscriptionStats over the whole run, read after the drain: entityFetches / events (over the window alone it is skewed when completions lag behind arrivals)",
      peakRssMb: "the gateway process's VmHWM, reset at the start of the measured window",
      schedulerDirect: 'one subscriber straight to the scheduler subgraph, same latency method: the part of the latency that is not the gateway\'s',
    },
    p50LatencyMs: latency(50),
    p90LatencyMs: latency(90),
    p99LatencyMs: latency(99),
    maxLatencyMs: latency(100),
    meanLatencyMs: round2(latencySum / Math.max(1, delivered)),
    eventsPerSecond: round1(delivered / window.seconds),
    subgraphRequestsPerEvent: round3(window.statsAtEnd.entityFetches / Math.max(1, window.statsAtEnd.events)),
    peakRssMb: gatewayFigures.peakRssMb,
    /** Of one core: 200 % is both cores of a 2-core machine. */
    gatewayCpuPercent: gatewayFigures.cpuPercent,
    requestedChangesPerSecond: options.rate,
    /** State changes made per second in the window (mutations that succeeded), whatever was requested. */
    achievedChangesPerSecond,
    /** Results delivered per change made in the window (by the end of the drain), and how many subscribers watch it. */
    deliveriesPerChange: round2(deliveriesOfWindowChanges / Math.max(1, changes)),
    expectedDeliveriesPerChange: round2(expectedDeliveries / Math.max(1, changes)),
    /** Distinct state changes per second that reached the subscribers (from the events' sequences). */
    stateChangesPerSecond: round1(changes / window.seconds),
    /** The same latency for one subscriber straight on the scheduler subgraph (no gateway). */
    schedulerDirect: {
      events: probeLatencies.length,
      p50LatencyMs: round2(sortedPercentile(probeLatencies, 50)),
      p99LatencyMs: round2(sortedPercentile(probeLatencies, 99)),
      maxLatencyMs: round2(probeLatencies.at(-1) ?? NaN),
    },
    upstreamEventsPerSecond: round1(window.stats.events / window.seconds),
    /** The mutations that made the changes. */
    mutations: {
      perSecond: round1(window.submissions.succeeded / window.seconds),
      sent: window.submissions.sent,
      succeeded: window.submissions.succeeded,
      errors: window.submissions.errors,
      errorSamples: window.submissions.errorSamples,
      slippedFromSchedule: window.submissions.slipped,
      p50LatencyMs: round2(sortedPercentile(submitLatencies, 50)),
      p99LatencyMs: round2(sortedPercentile(submitLatencies, 99)),
    },
    delivery: {
      resultsInWindow: delivered,
      changesInWindow: changes,
      /** Of the changes made in the window, the share of (change, subscriber) pairs delivered by the end of the drain. */
      deliveredFraction: round3(deliveriesOfWindowChanges / Math.max(1, expectedDeliveries)),
      /** Seconds after the window until the last result arrived (a backlog drains here). */
      drainSeconds: window.drainSeconds,
      drained: window.drained,
      incompleteResults: window.reports.reduce((sum, report) => sum + report.incomplete, 0),
      outOfOrder: window.reports.reduce((sum, report) => sum + report.outOfOrder, 0),
      endedSubscriptions: window.reports.reduce((sum, report) => sum + report.ended, 0),
      closeReasons,
      errorSamples: [...new Set(window.reports.flatMap((report) => report.errorSamples))].slice(0, 5),
    },
    /** The gateway's counters over the measured window, and over its whole life (read after the drain). */
    gatewayStats: { window: window.stats, wholeRun: window.statsAtEnd },
    processes: window.machine.processes,
    subscribersCpuPercent: window.clientCpuPercent,
    submitterCpuPercent: window.machine.submitterCpuPercent,
    machineCpuPercent: window.machine.machineCpuPercent,
    otherCpuPercent: window.machine.otherCpuPercent,
    serviceLogWarnings: Object.fromEntries(platform.all.map((service) => [service.name, loggedWarnings(service)])),
  };
}

type Report = ReturnType<typeof buildReport>;

function printSummary(report: Report): void {
  const p = report.parameters;
  const d = report.delivery;
  const s = report.mutations;
  const lines = [
    '',
    `Subscriptions benchmark: ${p.subscribers} subscribers (${p.clientProcesses} client process${p.clientProcesses > 1 ? 'es' : ''}) ` +
      (p.watch === 'model' ? `each watching one of ${p.models} models` : `each watching every change (${p.models} models)`) +
      `, ${p.rate} changes/s wanted (${p.changes} via the ${p.via}), ${p.warmupSeconds} s warm-up + ${p.seconds} s measured, ${p.db}, ${p.cpus} CPUs`,
    '',
    `  state changes               ${report.achievedChangesPerSecond}/s achieved of ${report.requestedChangesPerSecond}/s requested; ` +
      `${report.deliveriesPerChange} deliveries per change (${report.expectedDeliveriesPerChange} subscribers watch each)`,
    `  latency, change to client   p50 ${report.p50LatencyMs} ms   p90 ${report.p90LatencyMs} ms   p99 ${report.p99LatencyMs} ms   max ${report.maxLatencyMs} ms   (mean ${report.meanLatencyMs} ms)`,
    `  scheduler alone (1 direct)  p50 ${report.schedulerDirect.p50LatencyMs} ms   p99 ${report.schedulerDirect.p99LatencyMs} ms   max ${report.schedulerDirect.maxLatencyMs} ms   (${report.schedulerDirect.events} events)`,
    `  delivered                   ${report.eventsPerSecond} results/s to subscribers; ${report.stateChangesPerSecond} state changes/s reached them (${report.upstreamEventsPerSecond} events/s into the gateway)`,
    `  completeness                ${(d.deliveredFraction * 100).toFixed(1)} % of (change, subscriber) pairs delivered; last result ${d.drainSeconds} s after the window` +
      `${d.drained ? '' : ' (still arriving when the drain ended)'}; ${d.endedSubscriptions} subscriptions ended, ${d.incompleteResults} incomplete, ${d.outOfOrder} out of order`,
    `  subgraph requests per event ${report.subgraphRequestsPerEvent} (${report.gatewayStats.wholeRun.entityFetches} entity fetches for ${report.gatewayStats.wholeRun.events} events over the run, ` +
      `${report.gatewayStats.wholeRun.groups} upstream group${report.gatewayStats.wholeRun.groups === 1 ? '' : 's'}; in the window ${report.gatewayStats.window.entityFetches} for ${report.gatewayStats.window.events})`,
    `  mutations                   ${s.perSecond}/s succeeded (p50 ${s.p50LatencyMs} ms, p99 ${s.p99LatencyMs} ms), ${s.errors} failed, ${s.slippedFromSchedule} slipped from the schedule`,
    '',
    `  process             CPU % of one core   peak RSS MB`,
    ...Object.entries(report.processes).map(([name, figures]) => `  ${name.padEnd(22)}${String(figures.cpuPercent).padStart(12)}${(Number.isNaN(figures.peakRssMb) ? '-' : String(figures.peakRssMb)).padStart(14)}`),
    `  ${'submitter (this one)'.padEnd(22)}${String(report.submitterCpuPercent).padStart(12)}`,
    `  whole machine (${p.cpus} CPUs = ${p.cpus * 100} %): ${report.machineCpuPercent} % busy; processes not of this benchmark: ${report.otherCpuPercent} %`,
  ];
  if (report.achievedChangesPerSecond < report.requestedChangesPerSecond * SHORT_OF_RATE) {
    const [busiest, figures] = Object.entries(report.processes).sort(([, a], [, b]) => b.cpuPercent - a.cpuPercent)[0]!;
    lines.push(
      `  ! only ${report.achievedChangesPerSecond} of the ${report.requestedChangesPerSecond} changes/s requested were made ` +
        `(the busiest process: ${busiest}, ${figures.cpuPercent} % of one core): the figures are for the rate achieved`,
    );
  }
  if (report.otherCpuPercent >= OTHER_LOAD_WARNING_PERCENT) lines.push(`  ! other processes used ${report.otherCpuPercent} % CPU while measuring: these figures are disturbed`);
  for (const sample of s.errorSamples) lines.push(`  ! mutation error: ${sample}`);
  for (const sample of d.errorSamples) lines.push(`  ! subscriber: ${sample}`);
  for (const [reason, count] of Object.entries(d.closeReasons)) lines.push(`  ! ${count} connections closed: ${reason}`);
  const warnings = Object.entries(report.serviceLogWarnings).filter(([, count]) => count > 0);
  if (warnings.length > 0) lines.push(`  ! services logged warnings or errors: ${warnings.map(([name, count]) => `${name} ${count}`).join(', ')}`);
  console.log(lines.join('\n'));
}

/**
 * The file holds the latest run of each --watch mode under `modes`, and at its top level the default mode's
 * (`model`), or while there is none, this run's: a run of one mode keeps what the other one wrote.
 */
function writeResults(report: Report): void {
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  let modes: Partial<Record<Watch, Report>> = {};
  try {
    const previous = JSON.parse(fs.readFileSync(RESULTS_FILE, 'utf8')) as { modes?: Partial<Record<Watch, Report>> };
    if (previous.modes && typeof previous.modes === 'object') modes = previous.modes;
  } catch {
    // No file yet, or not one this version wrote: start afresh.
  }
  modes[report.watch] = report;
  const top = modes.model ?? report;
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify({ ...top, modes }, null, 2)}\n`);
  const kept = (Object.keys(modes) as Watch[]).filter((watch) => watch !== report.watch);
  console.log(`\nWrote ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE} (modes.${report.watch}${kept.length > 0 ? `; kept modes.${kept.join(', modes.')} from ${kept.map((watch) => modes[watch]!.timestamp).join(', ')}` : ''}; top level: ${top.watch})`);
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return;
  const dataDir = makeDataDir();
  const database = options.db === 'postgres' ? await createDatabase(options.postgresUrl) : undefined;
  const platform = await startPlatform(options, dataDir, database?.url);
  progress(`gateway ready at ${platform.gatewayUrl} (pid ${platform.gateway.pid})`);
  await seed(platform.gatewayUrl, options.models);
  stopIfInterrupted();
  const clients = await startSubscribers(options, platform);
  onCleanup('close the subscribers', async () => {
    await Promise.all(clients.map((child) => stopService(child, { type: 'close' } satisfies ClientsRequest)));
  });
  const probe = startProbe(platform.schedulerUrl, subscriberVariables(options, 0));
  const window = await runLoad(options, platform, clients, probe, database);
  const report = buildReport(options, platform, window);
  printSummary(report);
  writeResults(report);
  if (report.mutations.errors > 0 || report.delivery.incompleteResults > 0) process.exitCode = 1;
}

runBenchmark(main, USAGE);

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
