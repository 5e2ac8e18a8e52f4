// Monitoring benchmark: how many metric samples per second reach the database through the API (real gateway and
// subgraph processes, an operator API key, concurrent senders of reportMetrics batches over HTTP), on SQLite and on
// PostgreSQL, beside the ingestion function alone in process; and how long one alert evaluation round of many rules
// over many series takes, the real round (database reads, evaluation, writes) and the pure evaluator alone.
// Writes bench/results/monitoring.json. Targets: at least 50,000 samples/s through the API; under 200 ms per round
// for 1,000 rules over 10,000 series.
//
//   npm run bench:monitoring -- [--db sqlite,postgres] [--batch 1000] [--senders 4] [--duration 15] [--rules 1000] ...
//   (run with --help for every flag)
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { DataSource } from 'typeorm';
import { Database, type DatabaseLocation } from '../common/db/database';
import { insertRows } from '../common/db/bulk-writes';
import { createLogger } from '../common/logger';
import { monitoring } from '../subgraphs/monitoring';
import { evaluate } from '../subgraphs/monitoring/alerting/evaluate';
import type { AlertRule, AlertState } from '../subgraphs/monitoring/alerting/types';
import { EvaluationMemory, evaluateAlerts } from '../subgraphs/monitoring/alerts/alert-evaluation';
import type { CreateAlertRuleInput } from '../subgraphs/monitoring/alerts/alert-rule.inputs';
import { createAlertRule, storeBuiltInRules } from '../subgraphs/monitoring/alerts/alert-rule.service';
import { reportSamples } from '../subgraphs/monitoring/metrics/ingestion';
import { MetricSample } from '../subgraphs/monitoring/metrics/metric.entity';
import { resolveSeries, seriesFingerprint } from '../subgraphs/monitoring/metrics/series';
import { buildRules, buildSignals, nodeCount, sampleAt, seriesAt, type Signal } from './alerting-data';
import { seededRandom } from './cluster';
import { percentile } from './placement';
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
  round1,
  round2,
  runBenchmark,
  spawnService,
  stopIfInterrupted,
  stopService,
  UsageError,
  waitUntilReady,
  wholeNumber,
  withClient,
  type BenchDatabase,
  type Service,
} from './support';

const USAGE = `Usage: npm run bench:monitoring -- [flags]

Ingestion (samples per second, counted in the database once stored):
  --db LIST             databases to measure on, comma-separated: sqlite, postgres (default sqlite,postgres)
  --postgres-url URL    server on which to create (and drop) a database for postgres
                        (default postgres://postgres@127.0.0.1:5432/test)
  --batch N             samples per reportMetrics request (default 1000)
  --form rows|samples   the compact form (input.rows, default) or an object per sample (input.samples)
  --senders N           concurrent senders, each a closed loop on its own keep-alive connection (default 4)
  --duration S          measured seconds through the API, per database (default 15)
  --warmup S            seconds of load before each measurement, discarded (default 5)
  --series N            distinct series the samples spread over (default 10000)
  --in-process S        seconds of the ingestion function alone, per database (default 5; 0 skips it)
  --max-body-bytes N    the services' TOUCHLINE_MAX_BODY_BYTES (default: theirs)
  --cpu-prof DIR        write V8 CPU profiles of the gateway and monitoring processes into DIR
  --no-build            skip \`npm run build\` (the services run from dist/)

Alert evaluation (per round; median and p95):
  --rules N             alert rules (default 1000): the built-in ones, the rest random over the node and GPU metrics
  --eval-series N       metric series (default 10000)
  --rounds N            measured rounds (default 15), after 3 discarded ones
  --interval S          seconds between samples and between rounds (default 15)
  --points N            samples per series in the longest window (default 40: 10 minutes at 15 s)
  --eval-db LIST        databases for the full round (default: the first of --db)

  --skip-ingestion, --skip-api, --skip-evaluation
  --seed N              seed of the generators (default 1)
  --help                show this help`;

const REPO_ROOT = findRepoRoot(__dirname);
const RESULTS_FILE = path.join(REPO_ROOT, 'bench/results/monitoring.json');
const ADMIN_KEY = `tl_bench-${randomBytes(16).toString('hex')}`;
const INTERNAL_SECRET = randomBytes(32).toString('hex');
const REQUEST_TIMEOUT_MS = 60_000;
const TARGET_SAMPLES_PER_SECOND = 50_000;
const TARGET_EVALUATION_MS = 200;
const WARM_UP_ROUNDS = 3;
/** No receivers are configured: the round still plans notifications, finding nobody to tell. */
const NOTIFICATION_POLICY = { repeatIntervalMs: 4 * 3_600_000, externalUrl: 'http://127.0.0.1:4000' };
/** CPU used by other processes (in % of one core) beyond which the summary warns that the figures are disturbed. */
const OTHER_LOAD_WARNING_PERCENT = 15;

type DatabaseKind = 'sqlite' | 'postgres';

interface Options {
  dbs: DatabaseKind[];
  postgresUrl: string;
  batch: number;
  form: 'rows' | 'samples';
  senders: number;
  durationSeconds: number;
  warmupSeconds: number;
  series: number;
  inProcessSeconds: number;
  maxBodyBytes: number | undefined;
  cpuProfileDir: string | undefined;
  build: boolean;
  rules: number;
  evalSeries: number;
  rounds: number;
  intervalMs: number;
  points: number;
  evalDbs: DatabaseKind[];
  ingestion: boolean;
  api: boolean;
  evaluation: boolean;
  seed: number;
}

function parseOptions(argv: string[]): Options | undefined {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        db: { type: 'string', default: 'sqlite,postgres' },
        'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
        batch: { type: 'string', default: '1000' },
        form: { type: 'string', default: 'rows' },
        senders: { type: 'string', default: '4' },
        duration: { type: 'string', default: '15' },
        warmup: { type: 'string', default: '5' },
        series: { type: 'string', default: '10000' },
        'in-process': { type: 'string', default: '5' },
        'max-body-bytes': { type: 'string' },
        'cpu-prof': { type: 'string' },
        'no-build': { type: 'boolean', default: false },
        rules: { type: 'string', default: '1000' },
        'eval-series': { type: 'string', default: '10000' },
        rounds: { type: 'string', default: '15' },
        interval: { type: 'string', default: '15' },
        points: { type: 'string', default: '40' },
        'eval-db': { type: 'string' },
        'skip-ingestion': { type: 'boolean', default: false },
        'skip-api': { type: 'boolean', default: false },
        'skip-evaluation': { type: 'boolean', default: false },
        seed: { type: 'string', default: '1' },
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
  const dbs = databaseList('--db', values.db);
  if (values.form !== 'rows' && values.form !== 'samples') throw new UsageError(`--form must be rows or samples (got ${values.form})`);
  return {
    dbs,
    postgresUrl: values['postgres-url'],
    batch: wholeNumber('--batch', values.batch, 1),
    form: values.form,
    senders: wholeNumber('--senders', values.senders, 1),
    durationSeconds: positiveNumber('--duration', values.duration),
    warmupSeconds: wholeNumber('--warmup', values.warmup, 0),
    series: wholeNumber('--series', values.series, 1),
    inProcessSeconds: wholeNumber('--in-process', values['in-process'], 0),
    maxBodyBytes: values['max-body-bytes'] === undefined ? undefined : wholeNumber('--max-body-bytes', values['max-body-bytes'], 1),
    cpuProfileDir: values['cpu-prof'] && path.resolve(values['cpu-prof']),
    build: !values['no-build'],
    rules: wholeNumber('--rules', values.rules, 1),
    evalSeries: wholeNumber('--eval-series', values['eval-series'], 1),
    rounds: wholeNumber('--rounds', values.rounds, 1),
    intervalMs: wholeNumber('--interval', values.interval, 1) * 1000,
    points: wholeNumber('--points', values.points, 1),
    evalDbs: values['eval-db'] === undefined ? dbs.slice(0, 1) : databaseList('--eval-db', values['eval-db']),
    ingestion: !values['skip-ingestion'],
    api: !values['skip-api'],
    evaluation: !values['skip-evaluation'],
    seed: wholeNumber('--seed', values.seed, 0),
  };
}

function databaseList(flag: string, text: string): DatabaseKind[] {
  const kinds = [...new Set(text.split(',').map((part) => part.trim()).filter(Boolean))];
  for (const kind of kinds) if (kind !== 'sqlite' && kind !== 'postgres') throw new UsageError(`${flag} takes sqlite and postgres (got ${kind})`);
  if (kinds.length === 0) throw new UsageError(`${flag} names no database`);
  return kinds as DatabaseKind[];
}

// ---------------------------------------------------------------------------------------------------------------
// The samples: model metrics (each with model and version labels, as an operator's key must send them) spread over
// `series` series; sample k of the run goes to series k mod `series`, one millisecond after that series' previous
// one, so that no two samples of a run collide and every one is stored.

const METRIC_NAMES = ['model_prediction_latency_seconds', 'model_brier_score', 'model_rows_scored_total', 'model_feature_drift_ratio'];

interface BenchSeries {
  name: string;
  labels: { key: string; value: string }[];
  labelObject: Record<string, string>;
  /** The sample's JSON up to its value, in each form, for building request bodies quickly. */
  jsonPrefix: Record<'rows' | 'samples', string>;
}

function benchSeries(count: number): BenchSeries[] {
  return Array.from({ length: count }, (_, i) => {
    const group = Math.floor(i / METRIC_NAMES.length);
    const name = METRIC_NAMES[i % METRIC_NAMES.length]!;
    const labels = [
      { key: 'model', value: `model-${group % 20}` },
      { key: 'version', value: `1.${group % 3}.0` },
      { key: 'fixture', value: `f${group}` },
    ];
    const labelObject = Object.fromEntries(labels.map(({ key, value }) => [key, value]));
    return {
      name,
      labels,
      labelObject,
      jsonPrefix: {
        samples: `{"name":${JSON.stringify(name)},"labels":${JSON.stringify(labels)},"value":`,
        rows: `[${JSON.stringify(name)},${JSON.stringify(labelObject)},`,
      },
    };
  });
}

/** Hands out the run's samples, batch by batch, to any number of senders. */
class SampleSource {
  private next = 0;

  constructor(
    private readonly series: readonly BenchSeries[],
    /** The time of each series' first sample, well within the raw retention. */
    private readonly base: number,
  ) {}

  /** The index of the first sample of the next batch of `size`. */
  take(size: number): number {
    const first = this.next;
    this.next += size;
    return first;
  }

  seriesOf(k: number): BenchSeries {
    return this.series[k % this.series.length]!;
  }

  atOf(k: number): number {
    return this.base + Math.floor(k / this.series.length);
  }

  static valueOf(k: number): number {
    return (k % 1000) / 997;
  }

  /** The report as the subgraph receives it once GraphQL has parsed the input. */
  report(form: 'rows' | 'samples', first: number, size: number) {
    if (form === 'rows') {
      return {
        rows: Array.from({ length: size }, (_, i) => {
          const k = first + i;
          return [this.seriesOf(k).name, { ...this.seriesOf(k).labelObject }, SampleSource.valueOf(k), this.atOf(k)];
        }),
      };
    }
    return {
      samples: Array.from({ length: size }, (_, i) => {
        const k = first + i;
        const series = this.seriesOf(k);
        return { name: series.name, labels: series.labels, value: SampleSource.valueOf(k), at: new Date(this.atOf(k)) };
      }),
    };
  }

  /** The JSON of `input`. */
  json(form: 'rows' | 'samples', first: number, size: number): string {
    const parts = new Array<string>(size);
    for (let i = 0; i < size; i++) {
      const k = first + i;
      const prefix = this.seriesOf(k).jsonPrefix[form];
      parts[i] =
        form === 'rows'
          ? `${prefix}${SampleSource.valueOf(k)},${this.atOf(k)}]`
          : `${prefix}${SampleSource.valueOf(k)},"at":"${new Date(this.atOf(k)).toISOString()}"}`;
    }
    return `{"${form}":[${parts.join(',')}]}`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Services: the gateway and the three subgraphs, one process each, on ports the OS chose.

interface Platform {
  gatewayUrl: string;
  gateway: Service;
  monitoring: Service;
  all: Service[];
}

async function startPlatform(options: Options, kind: DatabaseKind, dataDir: string, database: BenchDatabase | undefined): Promise<Platform> {
  const { ports, env: platformEnv } = await platformEnvironment({ dataDir, databaseUrl: database?.url, internalSecret: INTERNAL_SECRET, adminKey: ADMIN_KEY });
  const env: Record<string, string> = {
    ...platformEnv,
    ...(options.maxBodyBytes === undefined ? {} : { TOUCHLINE_MAX_BODY_BYTES: String(options.maxBodyBytes) }),
  };
  const profile = (name: string) =>
    options.cpuProfileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=${name}-${kind}-${process.pid}.cpuprofile`] } : {};
  progress(`starting the registry, scheduler and monitoring subgraphs on ${kind} (one process each)`);
  const start = async (name: string, port: number) => {
    const service = spawnService(REPO_ROOT, `${name} subgraph`, ['subgraph', name], env, name === 'monitoring' ? profile(name) : {});
    await waitUntilReady(service, `http://127.0.0.1:${port}/readyz`);
    return service;
  };
  const [registry, scheduler, monitoringService] = await Promise.all([
    start('registry', ports.registry),
    start('scheduler', ports.scheduler),
    start('monitoring', ports.monitoring),
  ]);
  progress('starting the gateway');
  const gateway = spawnService(REPO_ROOT, 'gateway', ['gateway'], env, profile('gateway'));
  await waitUntilReady(gateway, `http://127.0.0.1:${ports.gateway}/readyz`);
  return { gatewayUrl: graphqlUrl(ports.gateway), gateway, monitoring: monitoringService, all: [gateway, registry, scheduler, monitoringService] };
}

async function createOperatorKey(gatewayUrl: string): Promise<string> {
  const response = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({
      query: 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key userErrors { message } } }',
      variables: { input: { name: 'monitoring benchmark', role: 'OPERATOR' } },
    }),
  });
  const body = (await response.json()) as { data?: { createApiKey?: { key?: string; userErrors: { message: string }[] } }; errors?: { message: string }[] };
  const key = body.data?.createApiKey?.key;
  if (!key) throw new Error(`could not create an operator key: ${JSON.stringify(body)}`);
  return key;
}

/** Rows in the monitoring subgraph's metric_sample table. */
async function storedSamples(kind: DatabaseKind, dataDir: string, database: BenchDatabase | undefined): Promise<number> {
  if (kind === 'postgres') {
    return withClient(database!.url, async (client) => {
      const { rows } = await client.query<{ n: string }>('SELECT COUNT(*) AS n FROM monitoring.metric_sample');
      return Number(rows[0]!.n);
    });
  }
  const sqlite = await new DataSource({ type: 'better-sqlite3', database: path.join(dataDir, 'monitoring.sqlite'), readonly: true }).initialize();
  try {
    const [row] = (await sqlite.query('SELECT COUNT(*) AS n FROM metric_sample')) as { n: number }[];
    return Number(row!.n);
  } finally {
    await sqlite.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Load: closed loops (send a batch, wait for the answer, send the next) on keep-alive connections.

const REPORT = 'mutation($input: ReportMetricsInput!) { reportMetrics(input: $input) { accepted rejected { index field reason } userErrors { message } } }';

interface LoadResult {
  requests: number;
  accepted: number;
  errors: number;
  errorSamples: string[];
  latenciesMs: number[];
  elapsedMs: number;
}

function post(agent: http.Agent, url: URL, key: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'content-length': String(Buffer.byteLength(body)) };
    const request = http.request(url, { method: 'POST', agent, headers, timeout: REQUEST_TIMEOUT_MS }, (response) => {
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

/** How many samples the answer says were stored, or why it is not a correct answer. */
function acceptedOf(status: number, text: string, expected: number): number | string {
  if (status !== 200) return `HTTP ${status}: ${text.slice(0, 300)}`;
  let body: { data?: { reportMetrics?: { accepted: number; rejected: { reason: string }[]; userErrors: { message: string }[] } }; errors?: { message: string }[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return `not JSON: ${text.slice(0, 300)}`;
  }
  if (body.errors?.length) return `GraphQL error: ${body.errors[0]!.message}`;
  const payload = body.data?.reportMetrics;
  if (!payload) return `no payload: ${text.slice(0, 300)}`;
  if (payload.userErrors.length > 0) return `user error: ${payload.userErrors[0]!.message}`;
  if (payload.accepted !== expected) return `accepted ${payload.accepted} of ${expected}: ${payload.rejected[0]?.reason ?? ''}`;
  return payload.accepted;
}

async function runLoad(url: string, key: string, source: SampleSource, options: Options, durationMs: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.senders });
  const target = new URL(url);
  const result: LoadResult = { requests: 0, accepted: 0, errors: 0, errorSamples: [], latenciesMs: [], elapsedMs: 0 };
  const started = performance.now();
  const end = started + durationMs;
  const sender = async () => {
    while (performance.now() < end && !isInterrupted()) {
      const input = source.json(options.form, source.take(options.batch), options.batch);
      const body = `{"query":${JSON.stringify(REPORT)},"variables":{"input":${input}}}`;
      const sent = performance.now();
      let outcome: number | string;
      try {
        const response = await post(agent, target, key, body);
        outcome = acceptedOf(response.status, response.body, options.batch);
      } catch (error) {
        outcome = `request failed: ${(error as Error).message}`;
      }
      result.requests++;
      if (typeof outcome === 'number') {
        result.accepted += outcome;
        result.latenciesMs.push(performance.now() - sent);
      } else {
        result.errors++;
        if (result.errorSamples.length < 5 && !result.errorSamples.includes(outcome)) result.errorSamples.push(outcome);
      }
    }
  };
  await Promise.all(Array.from({ length: options.senders }, sender));
  result.elapsedMs = performance.now() - started;
  agent.destroy();
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// CPU while measuring: each service's, this process's, PostgreSQL's and the whole machine's, in % of one core.

interface Group {
  name: string;
  pids: number[];
}

function watchCpu(groups: Group[]) {
  const before = new Map(groups.flatMap((group) => group.pids).map((pid) => [pid, cpuSecondsIfAlive(pid) ?? 0]));
  const clientBefore = process.cpuUsage();
  const machineBefore = machineTicks();
  return (elapsedMs: number) => {
    const seconds = elapsedMs / 1000;
    const percent = (cpu: number) => round1((cpu / seconds) * 100);
    const used = new Map([...before].map(([pid, cpu]) => [pid, Math.max(0, (cpuSecondsIfAlive(pid) ?? cpu) - cpu)]));
    const client = process.cpuUsage(clientBefore);
    const clientSeconds = (client.user + client.system) / 1e6;
    const machineAfter = machineTicks();
    const machineSeconds = ((machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total)) * os.cpus().length * seconds;
    const ours = [...used.values()].reduce((sum, cpu) => sum + cpu, 0) + clientSeconds;
    return {
      processes: Object.fromEntries(groups.map((group) => [group.name, percent(group.pids.reduce((sum, pid) => sum + used.get(pid)!, 0))])),
      benchmarkClient: percent(clientSeconds),
      machine: percent(machineSeconds),
      other: Math.max(0, percent(machineSeconds - ours)),
      loadAverage: os.loadavg().map(round2),
    };
  };
}

type CpuFigures = ReturnType<ReturnType<typeof watchCpu>>;

// ---------------------------------------------------------------------------------------------------------------
// Ingestion through the API, then the ingestion function alone.

interface ApiIngestion {
  samplesPerSecond: number;
  /** Rows the measured window added to metric_sample, and the samples the answers said were accepted. */
  storedSamples: number;
  acceptedSamples: number;
  requests: number;
  errors: number;
  errorSamples: string[];
  p50LatencyMs: number;
  p99LatencyMs: number;
  elapsedSeconds: number;
  cpuPercent: CpuFigures;
  serviceLogWarnings: Record<string, number>;
}

async function measureApi(kind: DatabaseKind, options: Options, source: SampleSource): Promise<ApiIngestion> {
  const dataDir = makeDataDir();
  const database = kind === 'postgres' ? await createDatabase(options.postgresUrl) : undefined;
  const platform = await startPlatform(options, kind, dataDir, database);
  const key = await createOperatorKey(platform.gatewayUrl);
  progress(`gateway ready at ${platform.gatewayUrl}; an operator key sends batches of ${options.batch} samples from ${options.senders} senders`);
  if (options.warmupSeconds > 0) {
    progress(`warming up for ${options.warmupSeconds} s (discarded)`);
    const warmup = await runLoad(platform.gatewayUrl, key, source, options, options.warmupSeconds * 1000);
    if (warmup.errors > 0) console.warn(`  ${warmup.errors} errors while warming up, for example: ${warmup.errorSamples[0]}`);
  }
  stopIfInterrupted();
  const rowsBefore = await storedSamples(kind, dataDir, database);
  progress(`measuring for ${options.durationSeconds} s (${rowsBefore} samples stored so far)`);
  const groups: Group[] = [
    ...platform.all.map((service) => ({ name: service.name, pids: [service.pid] })),
    ...(database ? [{ name: 'postgres backends', pids: await database.backendPids() }] : []),
  ];
  const finish = watchCpu(groups);
  const load = await runLoad(platform.gatewayUrl, key, source, options, options.durationSeconds * 1000);
  const cpu = finish(load.elapsedMs);
  stopIfInterrupted();
  const stored = (await storedSamples(kind, dataDir, database)) - rowsBefore;
  const latencies = [...load.latenciesMs].sort((a, b) => a - b);
  const result: ApiIngestion = {
    samplesPerSecond: Math.round(stored / (load.elapsedMs / 1000)),
    storedSamples: stored,
    acceptedSamples: load.accepted,
    requests: load.requests,
    errors: load.errors,
    errorSamples: load.errorSamples,
    p50LatencyMs: round1(percentile(latencies, 0.5)),
    p99LatencyMs: round1(percentile(latencies, 0.99)),
    elapsedSeconds: round2(load.elapsedMs / 1000),
    cpuPercent: cpu,
    serviceLogWarnings: Object.fromEntries(platform.all.map((service) => [service.name, loggedWarnings(service)])),
  };
  progress(
    `${kind} through the API: ${result.samplesPerSecond} samples/s stored (${stored} in ${result.elapsedSeconds} s, ${load.requests} requests, ` +
      `${load.errors} errors, p50 ${result.p50LatencyMs} ms); CPU % of one core: ${Object.entries(cpu.processes).map(([name, value]) => `${name} ${value}`).join(', ')}, ` +
      `this client ${cpu.benchmarkClient}, other processes ${cpu.other}`,
  );
  for (const service of platform.all.filter((each) => each.hasExited())) {
    console.warn(`  ! ${service.name} exited during the run; its last output:\n${service.output().slice(-3000)}`);
  }
  if (stored !== load.accepted) console.warn(`  ! the answers accepted ${load.accepted} samples but ${stored} rows were added`);
  for (const sample of load.errorSamples) console.warn(`  ! error: ${sample}`);
  progress('stopping the services');
  await Promise.all(platform.all.map((service) => stopService(service)));
  return result;
}

/** The monitoring subgraph's tables, migrated: in a SQLite file, or in the `monitoring` schema of a database of the run's own. */
async function openMonitoringDatabase(kind: DatabaseKind, dataDir: string, database: BenchDatabase | undefined, name: string): Promise<Database> {
  const location: DatabaseLocation =
    kind === 'sqlite' ? { kind, file: path.join(dataDir, `${name}.sqlite`) } : { kind, url: database!.url, schema: 'monitoring' };
  return Database.open({
    location,
    entities: monitoring.entities,
    migrations: monitoring.migrations,
    logger: createLogger({ level: 'warn', format: 'json' }),
  });
}

interface InProcessIngestion {
  samplesPerSecond: number;
  samples: number;
  batches: number;
  /** Time spent in the ingestion transactions only (one at a time), not building the samples. */
  seconds: number;
}

async function measureInProcess(kind: DatabaseKind, options: Options, source: SampleSource, database: BenchDatabase | undefined): Promise<InProcessIngestion> {
  const db = await openMonitoringDatabase(kind, makeDataDir(), database, 'bench_ingestion');
  const settings = { metricsRawRetentionHours: 24 };
  try {
    let busyMs = 0;
    let samples = 0;
    let batches = 0;
    const ingest = async () => {
      const report = source.report(options.form, source.take(options.batch), options.batch);
      const began = performance.now();
      const outcome = await db.transaction((em) => reportSamples(em, report, { kind: 'model' }, settings));
      const ms = performance.now() - began;
      if (outcome.value?.accepted !== options.batch) throw new Error(`the ingestion function refused samples: ${JSON.stringify(outcome).slice(0, 300)}`);
      return ms;
    };
    for (let i = 0; i < 3; i++) await ingest(); // warm-up
    while (busyMs < options.inProcessSeconds * 1000 && !isInterrupted()) {
      busyMs += await ingest();
      samples += options.batch;
      batches++;
    }
    const result = { samplesPerSecond: Math.round(samples / (busyMs / 1000)), samples, batches, seconds: round2(busyMs / 1000) };
    progress(`${kind} in process (reportSamples alone, one batch at a time): ${result.samplesPerSecond} samples/s`);
    return result;
  } finally {
    await db.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Alert evaluation: the real round against a database holding the rules and the samples of their windows, and the
// pure evaluator over the same signals.

interface RoundFigures {
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  rounds: number;
}

function figures(roundsMs: number[]): RoundFigures {
  const sorted = [...roundsMs].sort((a, b) => a - b);
  return { medianMs: round1(percentile(sorted, 0.5)), p95Ms: round1(percentile(sorted, 0.95)), maxMs: round1(sorted[sorted.length - 1] ?? NaN), rounds: sorted.length };
}

/** A full collection before each timed round, so that the garbage of preparing it is not collected inside it. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

async function storeRules(db: Database, rules: readonly AlertRule[]): Promise<void> {
  await db.transaction(async (em) => {
    await storeBuiltInRules(em);
    for (const rule of rules) {
      if (!rule.id.startsWith('rule-')) continue; // a built-in one
      const input = {
        ...rule,
        matchers: rule.matchers.map((matcher) => ({ ...matcher })),
        by: rule.by ? [...rule.by] : null,
        runbookUrl: null,
        absentFires: rule.absentFires ?? false,
      } as CreateAlertRuleInput;
      const outcome = await createAlertRule(em, input);
      if (outcome.userErrors) throw new Error(`bench rule ${rule.name} refused: ${outcome.userErrors.map((e) => e.message).join('; ')}`);
    }
  });
}

/** Stores each signal's sample at each of `times` (skipping silent ones); `seriesIds` in the order of `signals`. */
async function storeSamples(db: Database, signals: readonly Signal[], seriesIds: readonly string[], times: readonly number[], random: () => number): Promise<void> {
  await db.transaction(async (em) => {
    let rows: MetricSample[] = [];
    for (const at of times) {
      for (const [i, signal] of signals.entries()) {
        const value = sampleAt(signal, at, random);
        if (value === undefined) continue;
        rows.push(Object.assign(new MetricSample(), { seriesId: seriesIds[i]!, at, value }));
        if (rows.length >= 50_000) {
          await insertRows(em, MetricSample, rows);
          rows = [];
        }
      }
    }
    await insertRows(em, MetricSample, rows);
  });
}

interface EvaluationFigures {
  fullRound: Partial<Record<DatabaseKind, RoundFigures & { transitions: number; alertsHeld: number }>>;
  pureEvaluator: RoundFigures & { transitions: number };
  rules: number;
  series: number;
  nodes: number;
  samplesPerSeries: number;
  /** While the rounds ran (storing each round's samples included): this process, PostgreSQL, the rest of the machine. */
  cpuPercent: Partial<Record<DatabaseKind, CpuFigures>>;
}

async function measureEvaluation(options: Options): Promise<EvaluationFigures> {
  const random = seededRandom(options.seed);
  const start = Date.now() - (WARM_UP_ROUNDS + options.rounds + 1) * options.intervalMs;
  const signals = buildSignals(options.evalSeries, start + (WARM_UP_ROUNDS + 2) * options.intervalMs, random);
  const nodes = nodeCount(signals);
  const rules = buildRules(options.rules, nodes, random);
  const roundTimes = Array.from({ length: WARM_UP_ROUNDS + options.rounds }, (_, round) => start + round * options.intervalMs);
  const result: EvaluationFigures = {
    fullRound: {},
    pureEvaluator: { ...figures([]), transitions: 0 },
    rules: rules.length,
    series: signals.length,
    nodes,
    samplesPerSeries: options.points,
    cpuPercent: {},
  };

  for (const kind of options.evalDbs) {
    stopIfInterrupted();
    const database = kind === 'postgres' ? await createDatabase(options.postgresUrl) : undefined;
    const db = await openMonitoringDatabase(kind, makeDataDir(), database, 'bench_evaluation');
    try {
      progress(`${kind}: storing ${rules.length} rules, ${signals.length} series and ${options.points - 1} samples each before the first round`);
      await storeRules(db, rules);
      const fingerprints = signals.map((signal) => seriesFingerprint(signal.series.name, signal.series.labels));
      const ids = await db.transaction((em) => resolveSeries(em, new Map(signals.map((signal, i) => [fingerprints[i]!, signal.series]))));
      const seriesIds = fingerprints.map((fingerprint) => ids.get(fingerprint)!);
      const history = Array.from({ length: options.points - 1 }, (_, i) => start - (options.points - 1 - i) * options.intervalMs);
      await storeSamples(db, signals, seriesIds, history, random);
      progress(`${kind}: ${WARM_UP_ROUNDS} + ${options.rounds} rounds of evaluateAlerts (each after storing the round's samples)`);
      const roundsMs: number[] = [];
      // As the evaluation loop does: the samples and alerts read are kept from round to round.
      const memory = new EvaluationMemory();
      let transitions = 0;
      let alertsHeld = 0;
      const finish = watchCpu(database ? [{ name: 'postgres backends', pids: await database.backendPids() }] : []);
      const loopStarted = performance.now();
      for (const [round, now] of roundTimes.entries()) {
        stopIfInterrupted();
        await storeSamples(db, signals, seriesIds, [now], random);
        collectGarbage();
        const began = performance.now();
        const evaluation = await evaluateAlerts(db, NOTIFICATION_POLICY, now, memory);
        const ms = performance.now() - began;
        if (round < WARM_UP_ROUNDS) continue;
        roundsMs.push(ms);
        transitions += evaluation.transitions.length;
        alertsHeld = evaluation.alerts.length;
      }
      result.cpuPercent[kind] = finish(performance.now() - loopStarted);
      result.fullRound[kind] = { ...figures(roundsMs), transitions, alertsHeld };
      const f = result.fullRound[kind]!;
      progress(`${kind}: evaluateAlerts median ${f.medianMs} ms, p95 ${f.p95Ms} ms, max ${f.maxMs} ms (${transitions} transitions; ${alertsHeld} alerts held at the end)`);
    } finally {
      await db.close();
    }
  }

  progress(`pure evaluate(): ${WARM_UP_ROUNDS} + ${options.rounds} rounds over the same signals`);
  const pureRandom = seededRandom(options.seed + 1);
  let alerts: AlertState[] = [];
  const pureMs: number[] = [];
  let transitions = 0;
  for (const [round, now] of roundTimes.entries()) {
    stopIfInterrupted();
    const series = seriesAt(signals, now, options, pureRandom);
    collectGarbage();
    const began = performance.now();
    const evaluation = evaluate(rules, series, alerts, now);
    const ms = performance.now() - began;
    alerts = evaluation.alerts;
    if (round < WARM_UP_ROUNDS) continue;
    pureMs.push(ms);
    transitions += evaluation.transitions.length;
  }
  result.pureEvaluator = { ...figures(pureMs), transitions };
  progress(`pure evaluate(): median ${result.pureEvaluator.medianMs} ms, p95 ${result.pureEvaluator.p95Ms} ms`);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return;
  if (options.cpuProfileDir) fs.mkdirSync(options.cpuProfileDir, { recursive: true });
  const loadAtStart = os.loadavg().map(round2);

  const throughApi: Partial<Record<DatabaseKind, ApiIngestion>> = {};
  const inProcess: Partial<Record<DatabaseKind, InProcessIngestion>> = {};
  if (options.ingestion) {
    if (options.build && options.api) buildServices(REPO_ROOT);
    for (const kind of options.dbs) {
      stopIfInterrupted();
      // Samples from an hour ago onwards: within the raw retention, and never in the future however long the run.
      const source = new SampleSource(benchSeries(options.series), Date.now() - 3_600_000);
      if (options.api) throughApi[kind] = await measureApi(kind, options, source);
      if (options.inProcessSeconds > 0) {
        const database = kind === 'postgres' ? await createDatabase(options.postgresUrl) : undefined;
        inProcess[kind] = await measureInProcess(kind, options, new SampleSource(benchSeries(options.series), Date.now() - 3_600_000), database);
      }
    }
  }
  const evaluation = options.evaluation ? await measureEvaluation(options) : undefined;
  const firstEval = evaluation && evaluation.fullRound[options.evalDbs[0]!];

  const report = {
    benchmark: 'monitoring',
    timestamp: new Date().toISOString(),
    parameters: {
      dbs: options.dbs,
      batch: options.batch,
      form: options.form,
      senders: options.senders,
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
      series: options.series,
      maxBodyBytes: options.maxBodyBytes ?? 'default',
      rules: options.rules,
      evalSeries: options.evalSeries,
      rounds: options.rounds,
      intervalSeconds: options.intervalMs / 1000,
      points: options.points,
      evalDbs: options.evalDbs,
      seed: options.seed,
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
    },
    /** Samples per second through the API (gateway + monitoring subgraph), counted in the database. */
    samplesPerSecond: Object.fromEntries(Object.entries(throughApi).map(([kind, figures]) => [kind, figures.samplesPerSecond])),
    /** The median full evaluation round (evaluateAlerts: read, evaluate, store), on the first evaluation database. */
    evaluationMs: firstEval?.medianMs ?? null,
    evaluationP95Ms: firstEval?.p95Ms ?? null,
    pureEvaluationMs: evaluation?.pureEvaluator.medianMs ?? null,
    pureEvaluationP95Ms: evaluation?.pureEvaluator.p95Ms ?? null,
    inProcessSamplesPerSecond: Object.fromEntries(Object.entries(inProcess).map(([kind, figures]) => [kind, figures.samplesPerSecond])),
    targets: { samplesPerSecond: TARGET_SAMPLES_PER_SECOND, evaluationMs: TARGET_EVALUATION_MS },
    ingestion: { throughApi, inProcess },
    evaluation: evaluation ?? null,
    loadAverage: { atStart: loadAtStart, atEnd: os.loadavg().map(round2) },
  };
  printSummary(report);
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nWrote ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  if (options.cpuProfileDir) console.log(`CPU profiles of the gateway and monitoring processes are in ${options.cpuProfileDir}.`);
  if (Object.values(throughApi).some((figures) => figures.errors > 0)) process.exitCode = 1;
}

function printSummary(report: {
  parameters: { batch: number; form: string; senders: number; rules: number; evalSeries: number; cpus: number; cpuModel: string; node: string };
  ingestion: { throughApi: Partial<Record<DatabaseKind, ApiIngestion>>; inProcess: Partial<Record<DatabaseKind, InProcessIngestion>> };
  evaluation: EvaluationFigures | null;
  loadAverage: { atStart: number[]; atEnd: number[] };
}): void {
  const p = report.parameters;
  const lines = ['', `Monitoring benchmark (${p.cpus} × ${p.cpuModel}, Node ${p.node})`];
  const { throughApi, inProcess } = report.ingestion;
  if (Object.keys(throughApi).length + Object.keys(inProcess).length > 0) {
    lines.push('', `Ingestion, batches of ${p.batch} samples (input.${p.form}) from ${p.senders} senders (target: ${TARGET_SAMPLES_PER_SECOND} samples/s through the API)`);
    lines.push('                 through the API   in process   p50 ms   p99 ms   errors   other CPU %');
    for (const kind of ['sqlite', 'postgres'] as const) {
      const api = throughApi[kind];
      const cell = (value: number | undefined, width: number) => (value === undefined ? '-' : String(value)).padStart(width);
      if (!api && !inProcess[kind]) continue;
      lines.push(
        `  ${kind.padEnd(14)}${cell(api?.samplesPerSecond, 16)}${cell(inProcess[kind]?.samplesPerSecond, 13)}${cell(api?.p50LatencyMs, 9)}${cell(api?.p99LatencyMs, 9)}` +
          `${cell(api?.errors, 9)}${cell(api?.cpuPercent.other, 14)}`,
      );
      if (!api) continue;
      lines.push(`    CPU % of one core: ${Object.entries(api.cpuPercent.processes).map(([name, value]) => `${name} ${value}`).join(', ')}, this client ${api.cpuPercent.benchmarkClient}`);
      if (api.cpuPercent.other >= OTHER_LOAD_WARNING_PERCENT) lines.push(`    ! other processes used ${api.cpuPercent.other} % of a core meanwhile: the figure is disturbed`);
    }
  }
  const evaluation = report.evaluation;
  if (evaluation) {
    lines.push('', `Alert evaluation, ${evaluation.rules} rules over ${evaluation.series} series (${evaluation.nodes} nodes, ${evaluation.samplesPerSeries} samples each; target: under ${TARGET_EVALUATION_MS} ms)`);
    for (const [kind, f] of Object.entries(evaluation.fullRound)) {
      const other = evaluation.cpuPercent[kind as DatabaseKind]?.other ?? 0;
      lines.push(`  evaluateAlerts on ${kind.padEnd(9)} median ${f.medianMs} ms, p95 ${f.p95Ms} ms, max ${f.maxMs} ms (${f.rounds} rounds; other processes ${other} % of a core)`);
    }
    const pure = evaluation.pureEvaluator;
    lines.push(`  evaluate() alone       median ${pure.medianMs} ms, p95 ${pure.p95Ms} ms, max ${pure.maxMs} ms (${pure.rounds} rounds)`);
  }
  lines.push('', `  load average at start ${report.loadAverage.atStart.join(' ')}, at end ${report.loadAverage.atEnd.join(' ')}`);
  console.log(lines.join('\n'));
}

runBenchmark(main, USAGE);
