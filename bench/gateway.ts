// Gateway benchmark: throughput and latency of a dashboard query through the gateway, against the registry subgraph
// answering the same query directly, with the gateway process's CPU and peak memory. Writes bench/results/gateway.json.
//
//   npx tsx bench/gateway.ts [--connections 20] [--duration 15] [--warmup 5] [--db sqlite|postgres] [--no-split] ...
//   (run with --help for every flag)
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Identity } from '../common/auth/identity';
import { signedHeaders } from '../common/auth/request-signature';
import {
  buildServices,
  cpuSecondsIfAlive,
  createDatabase,
  findRepoRoot,
  graphqlUrl,
  isInterrupted,
  loggedWarnings,
  machineTicks,
  makeDataDir,
  platformEnvironment,
  positiveNumber,
  progress,
  resetPeakRss,
  round1,
  round2,
  runBenchmark,
  spawnService,
  stopIfInterrupted,
  UsageError,
  waitUntilReady,
  wholeNumber,
  type Service,
} from './support';

const USAGE = `Usage: npx tsx bench/gateway.ts [flags]

  --connections N       concurrent keep-alive connections, each a closed loop (default 20)
  --duration S          measured seconds per target (default 15)
  --warmup S            seconds of load before each measurement, discarded (default 5)
  --db sqlite|postgres  where the services keep their data (default sqlite)
  --postgres-url URL    server on which to create (and drop) a database for --db postgres
                        (default postgres://postgres@127.0.0.1:5432/test)
  --split               each service its own process, so the gateway's CPU and memory are its own (default)
  --no-split            everything in one process (touchline up): the figures then include the subgraphs
  --models N            models to seed (default 50), each with --versions N versions (default 5) and an alias
  --compose-poll S      how often the gateway looks for changed subgraph schemas (TOUCHLINE_COMPOSE_POLL_SECONDS;
                        default: the gateway's own default, 10; 0 turns polling off)
  --pin-gateway         run the gateway process on CPU 0 only (taskset -c 0)
  --cpu-prof DIR        write a V8 CPU profile of the gateway process (its whole life) into DIR
  --no-build            skip \`npm run build\` (the services run from dist/)
  --help                show this help`;

const DASHBOARD_QUERY = `query Dashboard {
  models(first: 20) {
    nodes {
      name sport tags
      latestVersion { version trainingMetrics { name value } }
      aliases { name modelVersion { version } }
    }
  }
}`;
const PAGE_SIZE = 20;
const ADMIN_KEY = `tl_bench-${randomBytes(16).toString('hex')}`;
const INTERNAL_SECRET = randomBytes(32).toString('hex');
/** Who the direct requests claim to be: the subgraph trusts any identity the gateway's secret signs. */
const BENCH_IDENTITY: Identity = { kind: 'apiKey', id: 'gateway-benchmark', name: 'gateway benchmark', role: 'viewer' };
const REQUEST_TIMEOUT_MS = 30_000;
const POSTGRES_GROUP = 'postgres backends';
/** CPU used by other processes (in % of one core) beyond which the summary warns that the figures are disturbed. */
const OTHER_LOAD_WARNING_PERCENT = 15;

const REPO_ROOT = findRepoRoot(__dirname);
const RESULTS_FILE = path.join(REPO_ROOT, 'bench/results/gateway.json');

// ---------------------------------------------------------------------------------------------------------------
// Options

interface Options {
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  db: 'sqlite' | 'postgres';
  postgresUrl: string;
  split: boolean;
  models: number;
  versionsPerModel: number;
  composePollSeconds: number | undefined;
  pinGateway: boolean;
  cpuProfileDir: string | undefined;
  build: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseFlags(argv);
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  if (values.db !== 'sqlite' && values.db !== 'postgres') throw new UsageError(`--db must be sqlite or postgres (got ${values.db})`);
  if (values.split && values['no-split']) throw new UsageError('--split and --no-split contradict each other');
  return {
    connections: wholeNumber('--connections', values.connections, 1),
    durationSeconds: positiveNumber('--duration', values.duration),
    warmupSeconds: wholeNumber('--warmup', values.warmup, 0),
    db: values.db,
    postgresUrl: values['postgres-url'],
    split: !values['no-split'],
    models: wholeNumber('--models', values.models, 1),
    versionsPerModel: wholeNumber('--versions', values.versions, 1),
    composePollSeconds: values['compose-poll'] === undefined ? undefined : wholeNumber('--compose-poll', values['compose-poll'], 0),
    pinGateway: values['pin-gateway'],
    cpuProfileDir: values['cpu-prof'] && path.resolve(values['cpu-prof']),
    build: !values['no-build'],
  };
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        connections: { type: 'string', default: '20' },
        duration: { type: 'string', default: '15' },
        warmup: { type: 'string', default: '5' },
        db: { type: 'string', default: 'sqlite' },
        'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
        split: { type: 'boolean' },
        'no-split': { type: 'boolean' },
        models: { type: 'string', default: '50' },
        versions: { type: 'string', default: '5' },
        'compose-poll': { type: 'string' },
        'pin-gateway': { type: 'boolean', default: false },
        'cpu-prof': { type: 'string' },
        'no-build': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Services: the compiled `touchline` command in child processes, on ports the OS chose.

interface Platform {
  gatewayUrl: string;
  registryUrl: string;
  /** The process that runs the gateway (in --no-split mode, it runs the subgraphs too). */
  gateway: Service;
  /** The process that runs the registry subgraph (the gateway's process in --no-split mode). */
  registry: Service;
  all: Service[];
}

async function startPlatform(options: Options, dataDir: string, databaseUrl: string | undefined): Promise<Platform> {
  const { ports, env: platformEnv } = await platformEnvironment({ dataDir, databaseUrl, internalSecret: INTERNAL_SECRET, adminKey: ADMIN_KEY });
  const env: Record<string, string> = {
    ...platformEnv,
    ...(options.composePollSeconds === undefined ? {} : { TOUCHLINE_COMPOSE_POLL_SECONDS: String(options.composePollSeconds) }),
  };
  const gatewayWrap = {
    taskset: options.pinGateway ? '0' : undefined,
    nodeArgs: options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [],
  };
  const gatewayBase = `http://127.0.0.1:${ports.gateway}`;
  const registryUrl = graphqlUrl(ports.registry);

  if (!options.split) {
    progress('starting all services in one process (touchline up)');
    const everything = spawnService(REPO_ROOT, 'touchline up', ['up'], env, gatewayWrap);
    await waitUntilReady(everything, `${gatewayBase}/readyz`);
    return { gatewayUrl: `${gatewayBase}/graphql`, registryUrl, gateway: everything, registry: everything, all: [everything] };
  }

  progress('starting the registry, scheduler and monitoring subgraphs (one process each)');
  const startSubgraph = async (name: string, port: number) => {
    const service = spawnService(REPO_ROOT, `${name} subgraph`, ['subgraph', name], env);
    await waitUntilReady(service, `http://127.0.0.1:${port}/readyz`);
    return service;
  };
  const [registry, scheduler, monitoring] = await Promise.all([
    startSubgraph('registry', ports.registry),
    startSubgraph('scheduler', ports.scheduler),
    startSubgraph('monitoring', ports.monitoring),
  ]);
  progress('starting the gateway (it composes the supergraph from the running subgraphs)');
  const gateway = spawnService(REPO_ROOT, 'gateway', ['gateway'], env, gatewayWrap);
  await waitUntilReady(gateway, `${gatewayBase}/readyz`);
  return { gatewayUrl: `${gatewayBase}/graphql`, registryUrl, gateway, registry, all: [gateway, registry, scheduler, monitoring] };
}

// ---------------------------------------------------------------------------------------------------------------
// Seeding: models, versions with training metrics, and an alias each, through the gateway as a user would.

const SUBJECTS = ['xg', 'xa', 'xt', 'win-probability', 'pass-completion', 'press-intensity', 'shot-quality', 'player-load', 'injury-risk', 'set-piece-threat'];
const COMPETITIONS = ['premier-league', 'la-liga', 'bundesliga', 'serie-a', 'wsl'];

function modelName(index: number): string {
  const subject = SUBJECTS[index % SUBJECTS.length]!;
  const competition = COMPETITIONS[Math.floor(index / SUBJECTS.length) % COMPETITIONS.length]!;
  const round = Math.floor(index / (SUBJECTS.length * COMPETITIONS.length));
  return round === 0 ? `${subject}-${competition}` : `${subject}-${competition}-${round + 1}`;
}

function versionName(index: number): string {
  return `${1 + Math.floor(index / 3)}.${index % 3}.0`;
}

async function gatewayMutation(url: string, query: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({ query, variables: { input } }),
  });
  const body = (await response.json()) as { data?: Record<string, { userErrors?: { message: string }[] }>; errors?: { message: string }[] };
  const payload = body.data && Object.values(body.data)[0];
  const problems = [...(body.errors ?? []), ...(payload?.userErrors ?? [])].map((error) => error.message);
  if (response.status !== 200 || problems.length > 0 || !payload) {
    throw new Error(`seeding failed (HTTP ${response.status}): ${problems.join('; ') || JSON.stringify(body)}`);
  }
  return payload;
}

async function seedModel(url: string, index: number, versions: number): Promise<void> {
  const name = modelName(index);
  const competition = COMPETITIONS[Math.floor(index / SUBJECTS.length) % COMPETITIONS.length]!;
  await gatewayMutation(url, 'mutation($input: CreateModelInput!) { createModel(input: $input) { model { id } userErrors { message } } }', {
    name,
    description: `${name.replace(/-/g, ' ')} model`,
    sport: 'football',
    task: index % 3 === 0 ? 'REGRESSION' : 'CLASSIFICATION',
    owner: 'analytics-team',
    tags: ['event-data', competition],
  });
  for (let v = 0; v < versions; v++) {
    const version = versionName(v);
    await gatewayMutation(url, 'mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { modelVersion { id } userErrors { message } } }', {
      model: name,
      version,
      image: `registry.local/${name}:${version}`,
      framework: v % 2 === 0 ? 'scikit-learn' : 'lightgbm',
      resources: { cpuMillicores: 500 + 250 * (v % 3), memoryMiB: 512 * (1 + (v % 2)) },
      trainingMetrics: [
        { name: 'brier', value: round3(0.12 - 0.004 * v - 0.0003 * (index % 7)) },
        { name: 'log_loss', value: round3(0.35 - 0.01 * v) },
        { name: 'auc', value: round3(0.72 + 0.01 * v + 0.001 * (index % 5)) },
      ],
      lineage: { sourceRunId: `run-${index}-${v}`, datasetRef: `${competition}-events@2024` },
    });
  }
  await gatewayMutation(url, 'mutation($input: SetModelAliasInput!) { setModelAlias(input: $input) { modelAlias { name } userErrors { message } } }', {
    model: name,
    alias: 'champion',
    version: versionName(Math.max(0, versions - 2)),
  });
}

async function seed(url: string, options: Options): Promise<void> {
  progress(`seeding ${options.models} models, ${options.versionsPerModel} versions each with training metrics, and a champion alias each`);
  const started = Date.now();
  let next = 0;
  // A few models at a time: quicker than one by one, without turning seeding into a benchmark of its own.
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < options.models && !isInterrupted()) await seedModel(url, next++, options.versionsPerModel);
  }));
  const mutations = options.models * (options.versionsPerModel + 2);
  progress(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s (${mutations} mutations)`);
}

// ---------------------------------------------------------------------------------------------------------------
// Load: a closed loop per connection (send, wait for the answer, send again) on keep-alive connections.

interface Target {
  label: string;
  url: URL;
  body: string;
  headers(): Record<string, string>;
  /** Why a response counts as an error, or undefined when it is a correct answer. */
  problem(status: number, body: string): string | undefined;
}

interface LoadResult {
  /** Latencies of the correct answers, in ms. */
  latenciesMs: number[];
  errors: number;
  errorSamples: string[];
  elapsedMs: number;
}

function gatewayTarget(url: string, expectedNodes: number): Target {
  const body = JSON.stringify({ query: DASHBOARD_QUERY });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}`, 'content-length': String(Buffer.byteLength(body)) };
  return { label: 'gateway', url: new URL(url), body, headers: () => headers, problem: dashboardProblem(expectedNodes) };
}

/** The registry subgraph, called as the gateway calls it: every request signed once, over its body. */
function subgraphTarget(url: string, expectedNodes: number): Target {
  const parsed = new URL(url);
  const body = JSON.stringify({ query: DASHBOARD_QUERY });
  const fixed = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  return {
    label: 'registry subgraph (direct)',
    url: parsed,
    body,
    headers: () => ({ ...fixed, ...signedHeaders(INTERNAL_SECRET, BENCH_IDENTITY, { method: 'POST', path: parsed.pathname, body }) }),
    problem: dashboardProblem(expectedNodes),
  };
}

function dashboardProblem(expectedNodes: number) {
  return (status: number, body: string): string | undefined => {
    if (status !== 200) return `HTTP ${status}: ${body.slice(0, 200)}`;
    let parsed: { data?: { models?: { nodes?: unknown[] } }; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      return `not JSON: ${body.slice(0, 200)}`;
    }
    const first = parsed.errors?.[0];
    if (first) return `GraphQL error: ${first.message} (${first.extensions?.code ?? 'no code'})`;
    const nodes = parsed.data?.models?.nodes?.length;
    if (nodes !== expectedNodes) return `expected ${expectedNodes} models, got ${nodes ?? 'none'}`;
    return undefined;
  };
}

function post(agent: http.Agent, target: Target): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(target.url, { method: 'POST', agent, headers: target.headers(), timeout: REQUEST_TIMEOUT_MS }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    request.on('error', reject);
    request.end(target.body);
  });
}

async function runLoad(target: Target, connections: number, durationMs: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const result: LoadResult = { latenciesMs: [], errors: 0, errorSamples: [], elapsedMs: 0 };
  const noteError = (message: string) => {
    result.errors++;
    if (result.errorSamples.length < 5 && !result.errorSamples.includes(message)) result.errorSamples.push(message);
  };
  const started = performance.now();
  const end = started + durationMs;
  const loop = async () => {
    while (performance.now() < end && !isInterrupted()) {
      const sent = performance.now();
      try {
        const response = await post(agent, target);
        const problem = target.problem(response.status, response.body);
        if (problem) noteError(problem);
        else result.latenciesMs.push(performance.now() - sent);
      } catch (error) {
        noteError(`request failed: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  result.elapsedMs = performance.now() - started;
  agent.destroy();
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Process figures from /proc: CPU time (utime + stime) and peak resident memory (VmHWM).

function statusField(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

interface ProcessFigures {
  cpuPercent: number;
  cpuMsPerRequest: number;
  peakRssMb: number;
  /** False when the peak could not be reset: it is then the peak of the process's whole life. */
  peakIsWindowOnly: boolean;
}

/** Processes whose CPU is counted together: one service, or the PostgreSQL backends serving this run. */
interface WatchedGroup {
  name: string;
  pids: number[];
  /** Whether its peak RSS means anything (PostgreSQL's is mostly shared memory). */
  memory: boolean;
}

/**
 * Watches groups of processes (and this one) over a measured window. CPU percentages are of one core, so on two
 * cores the most is 200 %; `otherCpuPercent` is what the rest of the machine used meanwhile, which disturbs the figures.
 */
function watchProcesses(groups: WatchedGroup[]) {
  const pids = [...new Set(groups.flatMap((group) => group.pids))];
  const reset = new Map(groups.filter((group) => group.memory).flatMap((group) => group.pids).map((pid) => [pid, resetPeakRss(pid)]));
  const cpuBefore = new Map(pids.map((pid) => [pid, cpuSecondsIfAlive(pid)]));
  const clientBefore = process.cpuUsage();
  const machineBefore = machineTicks();
  return (elapsedMs: number, requests: number) => {
    const percentOfOneCore = (seconds: number) => round1((seconds / (elapsedMs / 1000)) * 100);
    const cpuOf = new Map(pids.map((pid) => {
      const before = cpuBefore.get(pid);
      const after = cpuSecondsIfAlive(pid);
      return [pid, before === undefined || after === undefined ? 0 : after - before];
    }));
    const ours = [...cpuOf.values()].reduce((sum, cpu) => sum + cpu, 0);
    const figures: Record<string, ProcessFigures> = {};
    for (const group of groups) {
      const cpu = group.pids.reduce((sum, pid) => sum + cpuOf.get(pid)!, 0);
      figures[group.name] = {
        cpuPercent: percentOfOneCore(cpu),
        cpuMsPerRequest: round3((cpu * 1000) / Math.max(1, requests)),
        peakRssMb: group.memory ? round1(group.pids.reduce((sum, pid) => sum + statusField(pid, 'VmHWM'), 0)) : NaN,
        peakIsWindowOnly: group.pids.every((pid) => reset.get(pid) === true),
      };
    }
    const client = process.cpuUsage(clientBefore);
    const clientSeconds = (client.user + client.system) / 1e6;
    const machineAfter = machineTicks();
    const cpus = os.cpus().length;
    const machineSeconds = ((machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total)) * cpus * (elapsedMs / 1000);
    return {
      processes: figures,
      clientCpuPercent: percentOfOneCore(clientSeconds),
      machineCpuPercent: percentOfOneCore(machineSeconds),
      otherCpuPercent: Math.max(0, percentOfOneCore(machineSeconds - ours - clientSeconds)),
    };
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Measurement: warm up, then measure, and summarize.

interface Measurement {
  requestsPerSecond: number;
  requests: number;
  errors: number;
  errorSamples: string[];
  p50LatencyMs: number;
  p90LatencyMs: number;
  p99LatencyMs: number;
  meanLatencyMs: number;
  maxLatencyMs: number;
  elapsedSeconds: number;
  warmupErrors: number;
  processes: Record<string, ProcessFigures>;
  clientCpuPercent: number;
  machineCpuPercent: number;
  otherCpuPercent: number;
}

async function measure(target: Target, options: Options, watch: () => Promise<WatchedGroup[]>): Promise<Measurement> {
  stopIfInterrupted();
  let warmupErrors = 0;
  if (options.warmupSeconds > 0) {
    progress(`warming up ${target.label} for ${options.warmupSeconds} s with ${options.connections} connections (discarded)`);
    const warmup = await runLoad(target, options.connections, options.warmupSeconds * 1000);
    warmupErrors = warmup.errors;
    if (warmup.errors > 0) console.warn(`  ${warmup.errors} errors while warming up, for example: ${warmup.errorSamples[0]}`);
  }
  stopIfInterrupted();
  progress(`measuring ${target.label} for ${options.durationSeconds} s`);
  const finish = watchProcesses(await watch());
  const load = await runLoad(target, options.connections, options.durationSeconds * 1000);
  stopIfInterrupted(); // the services may be gone already
  const machine = finish(load.elapsedMs, load.latenciesMs.length + load.errors);
  const sorted = Float64Array.from(load.latenciesMs).sort();
  return {
    requestsPerSecond: round1(sorted.length / (load.elapsedMs / 1000)),
    requests: sorted.length,
    errors: load.errors,
    errorSamples: load.errorSamples,
    p50LatencyMs: round2(percentile(sorted, 50)),
    p90LatencyMs: round2(percentile(sorted, 90)),
    p99LatencyMs: round2(percentile(sorted, 99)),
    meanLatencyMs: round2(sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length)),
    maxLatencyMs: round2(sorted[sorted.length - 1] ?? NaN),
    elapsedSeconds: round2(load.elapsedMs / 1000),
    warmupErrors,
    ...machine,
  };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

// ---------------------------------------------------------------------------------------------------------------
// Report

function buildReport(options: Options, platform: Platform, viaGateway: Measurement, direct: Measurement) {
  const gatewayFigures = viaGateway.processes[platform.gateway.name]!;
  const registryDuringDirect = direct.processes[platform.registry.name]!;
  return {
    benchmark: 'gateway',
    timestamp: new Date().toISOString(),
    parameters: {
      connections: options.connections,
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
      db: options.db,
      mode: options.split ? 'split' : 'up',
      composePollSeconds: options.composePollSeconds ?? 'default',
      pinGateway: options.pinGateway,
      cpuProfile: Boolean(options.cpuProfileDir),
      models: options.models,
      versionsPerModel: options.versionsPerModel,
      query: DASHBOARD_QUERY.replace(/\s+/g, ' '),
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
    },
    requestsPerSecond: viaGateway.requestsPerSecond,
    p50LatencyMs: viaGateway.p50LatencyMs,
    p90LatencyMs: viaGateway.p90LatencyMs,
    p99LatencyMs: viaGateway.p99LatencyMs,
    meanLatencyMs: viaGateway.meanLatencyMs,
    maxLatencyMs: viaGateway.maxLatencyMs,
    requests: viaGateway.requests,
    errors: viaGateway.errors,
    errorSamples: viaGateway.errorSamples,
    gatewayCpuPercent: gatewayFigures.cpuPercent,
    gatewayCpuMsPerRequest: gatewayFigures.cpuMsPerRequest,
    gatewayPeakRssMb: gatewayFigures.peakRssMb,
    /** In --no-split mode the gateway's process also runs the subgraphs. */
    gatewayProcessIncludesSubgraphs: !options.split,
    subgraphDirect: {
      requestsPerSecond: direct.requestsPerSecond,
      p50LatencyMs: direct.p50LatencyMs,
      p90LatencyMs: direct.p90LatencyMs,
      p99LatencyMs: direct.p99LatencyMs,
      requests: direct.requests,
      errors: direct.errors,
      errorSamples: direct.errorSamples,
      registryCpuPercent: registryDuringDirect.cpuPercent,
      registryCpuMsPerRequest: registryDuringDirect.cpuMsPerRequest,
    },
    gatewayHop: {
      throughputRatio: round3(viaGateway.requestsPerSecond / direct.requestsPerSecond),
      p50AddedMs: round2(viaGateway.p50LatencyMs - direct.p50LatencyMs),
      p99AddedMs: round2(viaGateway.p99LatencyMs - direct.p99LatencyMs),
    },
    processesDuringGatewayRun: viaGateway.processes,
    processesDuringDirectRun: direct.processes,
    clientCpuPercent: { gatewayRun: viaGateway.clientCpuPercent, directRun: direct.clientCpuPercent },
    /** CPU used by the whole machine, and by processes other than this benchmark's, in % of one core. */
    machineCpuPercent: { gatewayRun: viaGateway.machineCpuPercent, directRun: direct.machineCpuPercent },
    otherCpuPercent: { gatewayRun: viaGateway.otherCpuPercent, directRun: direct.otherCpuPercent },
    warmupErrors: { gatewayRun: viaGateway.warmupErrors, directRun: direct.warmupErrors },
    /** Log lines at warn level or above, per service: a clean run has none. */
    serviceLogWarnings: Object.fromEntries(platform.all.map((service) => [service.name, loggedWarnings(service)])),
  };
}

type Report = ReturnType<typeof buildReport>;

function printSummary(report: Report): void {
  const p = report.parameters;
  const direct = report.subgraphDirect;
  const postgresDirect = report.processesDuringDirectRun[POSTGRES_GROUP];
  const processWord = report.gatewayProcessIncludesSubgraphs ? 'process (gateway + all subgraphs)' : 'process';
  const lines = [
    '',
    `Gateway benchmark: ${p.connections} connections, ${p.warmupSeconds} s warm-up + ${p.durationSeconds} s measured, ${p.db}, ${p.mode} mode${p.pinGateway ? ', gateway on CPU 0' : ''}${p.composePollSeconds === 'default' ? '' : `, compose poll ${p.composePollSeconds} s`}, ${p.models} models x ${p.versionsPerModel} versions, ${p.cpus} CPUs`,
    '',
    `                        requests/s      p50 ms    p90 ms    p99 ms    max ms    errors`,
    row('through the gateway', report.requestsPerSecond, report.p50LatencyMs, report.p90LatencyMs, report.p99LatencyMs, report.maxLatencyMs, report.errors),
    row('registry directly', direct.requestsPerSecond, direct.p50LatencyMs, direct.p90LatencyMs, direct.p99LatencyMs, NaN, direct.errors),
    '',
    `  gateway hop: ${(report.gatewayHop.throughputRatio * 100).toFixed(0)} % of direct throughput, ${signed(report.gatewayHop.p50AddedMs)} ms at p50, ${signed(report.gatewayHop.p99AddedMs)} ms at p99`,
    `  gateway ${processWord}: ${report.gatewayCpuPercent} % CPU (${report.gatewayCpuMsPerRequest} ms CPU per request), peak RSS ${report.gatewayPeakRssMb} MB`,
    ...Object.entries(report.processesDuringGatewayRun)
      .filter(([name]) => name !== 'gateway' && name !== 'touchline up')
      .map(([name, figures]) => `  ${name} during the gateway run: ${figures.cpuPercent} % CPU${Number.isNaN(figures.peakRssMb) ? '' : `, peak RSS ${figures.peakRssMb} MB`}`),
    `  registry answering directly${report.gatewayProcessIncludesSubgraphs ? ' (its process runs everything)' : ''}: ${direct.registryCpuPercent} % CPU (${direct.registryCpuMsPerRequest} ms CPU per request)${
      postgresDirect ? `, ${POSTGRES_GROUP} ${postgresDirect.cpuPercent} % CPU` : ''}`,
    `  this load generator: ${report.clientCpuPercent.gatewayRun} % CPU during the gateway run, ${report.clientCpuPercent.directRun} % during the direct run`,
    `  whole machine (${p.cpus} CPUs = ${p.cpus * 100} %): ${report.machineCpuPercent.gatewayRun} % busy during the gateway run, ${report.machineCpuPercent.directRun} % during the direct run`,
  ];
  const other = Math.max(report.otherCpuPercent.gatewayRun, report.otherCpuPercent.directRun);
  if (other >= OTHER_LOAD_WARNING_PERCENT) {
    lines.push(`  ! other processes on this machine used up to ${other} % CPU while measuring: these figures are disturbed, run again on a quiet machine`);
  }
  for (const [label, samples] of [['gateway', report.errorSamples], ['direct', direct.errorSamples]] as const) {
    for (const sample of samples) lines.push(`  ! ${label} error: ${sample}`);
  }
  const warnings = Object.entries(report.serviceLogWarnings).filter(([, count]) => count > 0);
  if (warnings.length > 0) lines.push(`  ! services logged warnings or errors: ${warnings.map(([name, count]) => `${name} ${count}`).join(', ')}`);
  console.log(lines.join('\n'));
}

function row(label: string, rps: number, p50: number, p90: number, p99: number, max: number, errors: number): string {
  const cell = (value: number, width: number) => (Number.isNaN(value) ? '-' : String(value)).padStart(width);
  return `  ${label.padEnd(22)}${cell(rps, 10)}${cell(p50, 12)}${cell(p90, 10)}${cell(p99, 10)}${cell(max, 10)}${cell(errors, 10)}`;
}

function writeResults(report: Report): void {
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nWrote ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return;
  if (options.build) buildServices(REPO_ROOT);
  if (options.cpuProfileDir) fs.mkdirSync(options.cpuProfileDir, { recursive: true });

  const dataDir = makeDataDir();
  const database = options.db === 'postgres' ? await createDatabase(options.postgresUrl) : undefined;
  const platform = await startPlatform(options, dataDir, database?.url);
  progress(`gateway ready at ${platform.gatewayUrl} (pid ${platform.gateway.pid}); registry at ${platform.registryUrl} (pid ${platform.registry.pid})`);
  await seed(platform.gatewayUrl, options);
  stopIfInterrupted();

  const expectedNodes = Math.min(PAGE_SIZE, options.models);
  const watch = async (): Promise<WatchedGroup[]> => [
    ...platform.all.map((service) => ({ name: service.name, pids: [service.pid], memory: true })),
    ...(database ? [{ name: POSTGRES_GROUP, pids: await database.backendPids(), memory: false }] : []),
  ];
  const viaGateway = await measure(gatewayTarget(platform.gatewayUrl, expectedNodes), options, watch);
  const direct = await measure(subgraphTarget(platform.registryUrl, expectedNodes), options, watch);
  stopIfInterrupted();

  const report = buildReport(options, platform, viaGateway, direct);
  printSummary(report);
  writeResults(report);
  if (options.cpuProfileDir) console.log(`The gateway's CPU profile is written to ${options.cpuProfileDir} when it stops.`);
  if (report.errors > 0 || direct.errors > 0) process.exitCode = 1;
}

runBenchmark(main, USAGE);

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

function signed(value: number): string {
  return value >= 0 ? `+${value}` : String(value);
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
