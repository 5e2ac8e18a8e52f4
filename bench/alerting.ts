// Alert evaluation benchmark: how long one evaluation round of many rules over many series takes in the pure
// alerting module, round after round with the alerts carried over, as the monitoring service's evaluator runs it.
// Writes bench/results/alerting.json (`evaluationMs`: the median round). Target: under 200 ms for 1,000 rules over
// 10,000 series.
//
//   npx tsx bench/alerting.ts [--rules 1000] [--series 10000] [--rounds 40] [--seed 1]
//   (run with --help for every flag)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { BUILT_IN_RULES } from '../subgraphs/monitoring/alerting/built-in-rules';
import { evaluate } from '../subgraphs/monitoring/alerting/evaluate';
import type { Aggregation, AlertRule, AlertState, Comparison, LabelMatcher, Series } from '../subgraphs/monitoring/alerting/types';
import { percentile } from './placement';
import { positiveFlag, seededRandom, weighted } from './cluster';
import { findRepoRoot, round1, round2 } from './support';

const USAGE = `Usage: npx tsx bench/alerting.ts [flags]

  --rules N      alert rules (default 1000): the 5 built-in ones, the rest random over the same metrics
  --series N     metric series (default 10000): per node 4 node metrics and 8 GPUs × 4 GPU metrics
  --interval S   seconds between samples and between rounds (default 15)
  --points N     samples per series the storage returns, the longest window of any rule (default 40: 10 min at 15 s)
  --rounds N     measured evaluation rounds, time moving on by the interval each round (default 40)
  --seed N       seed of the generator: the same seed builds the same rules and series (default 1)
  --help         show this help`;

const REPO_ROOT = findRepoRoot(__dirname);
const RESULTS_FILE = path.join(REPO_ROOT, 'bench/results/alerting.json');
const MINUTE = 60_000;
const WARM_UP_ROUNDS = 5;

/**
 * A full garbage collection, run before each timed round so that the garbage of building the round's series (which
 * the storage query would make, not the evaluation) is not collected, and timed, inside the evaluation.
 */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

interface Options {
  rules: number;
  series: number;
  intervalMs: number;
  points: number;
  rounds: number;
  seed: number;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      rules: { type: 'string', default: '1000' },
      series: { type: 'string', default: '10000' },
      interval: { type: 'string', default: '15' },
      points: { type: 'string', default: '40' },
      rounds: { type: 'string', default: '40' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  const positive = (name: string, text: string) => positiveFlag(name, text, USAGE);
  return {
    rules: positive('rules', values.rules),
    series: positive('series', values.series),
    intervalMs: positive('interval', values.interval) * 1000,
    points: positive('points', values.points),
    rounds: positive('rounds', values.rounds),
    seed: positive('seed', values.seed),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Synthetic metrics and rules

/** A metric and the range its values wander in, for building series and sensible thresholds. */
interface MetricShape {
  name: string;
  perGpu: boolean;
  low: number;
  high: number;
}

const METRICS: MetricShape[] = [
  { name: 'node_up', perGpu: false, low: 1, high: 1 },
  { name: 'node_cpu_utilization', perGpu: false, low: 0, high: 1 },
  { name: 'node_memory_available_ratio', perGpu: false, low: 0.02, high: 0.9 },
  { name: 'node_memory_used_bytes', perGpu: false, low: 8e9, high: 500e9 },
  { name: 'gpu_temperature_celsius', perGpu: true, low: 30, high: 92 },
  { name: 'gpu_utilization', perGpu: true, low: 0, high: 1 },
  { name: 'gpu_memory_used_bytes', perGpu: true, low: 0, high: 80e9 },
  { name: 'gpu_power_watts', perGpu: true, low: 50, high: 700 },
];
const GPUS_PER_NODE = 8;

/** One series' signal: a level, a slow wave and noise, so that some alerts come and go over the rounds. */
interface Signal {
  series: { name: string; labels: Record<string, string> };
  level: number;
  amplitude: number;
  periodMs: number;
  phase: number;
  noise: number;
  /** For node_up: the time the node stops reporting, if it does. */
  silentFrom: number;
}

function buildSignals(count: number, start: number, random: () => number): Signal[] {
  const signals: Signal[] = [];
  for (let node = 0; signals.length < count; node++) {
    const name = `node-${String(node).padStart(4, '0')}`;
    const zone = ['eu-west-1a', 'eu-west-1b', 'us-east-1a'][node % 3]!;
    // 2 % of the nodes go silent at some point during the run.
    const silentFrom = random() < 0.02 ? start + random() * 10 * MINUTE : Infinity;
    for (const metric of METRICS) {
      for (let gpu = 0; gpu < (metric.perGpu ? GPUS_PER_NODE : 1) && signals.length < count; gpu++) {
        const labels: Record<string, string> = metric.perGpu ? { node: name, gpu: String(gpu), zone } : { node: name, zone };
        const span = metric.high - metric.low;
        signals.push({
          series: { name: metric.name, labels },
          level: metric.low + span * (0.2 + 0.4 * random()),
          amplitude: span * 0.25 * random(),
          periodMs: (5 + 20 * random()) * MINUTE,
          phase: random() * 2 * Math.PI,
          noise: span * 0.02,
          silentFrom: metric.name === 'node_up' ? silentFrom : Infinity,
        });
      }
    }
  }
  return signals;
}

/** What the storage would return at `now`: each series' samples over the last `points` intervals. */
function seriesAt(signals: readonly Signal[], now: number, options: Options, random: () => number): Series[] {
  return signals.map((signal) => {
    const points: { at: number; value: number }[] = [];
    for (let i = options.points - 1; i >= 0; i--) {
      const at = now - i * options.intervalMs;
      if (at >= signal.silentFrom) break;
      const wave = signal.amplitude * Math.sin((2 * Math.PI * at) / signal.periodMs + signal.phase);
      points.push({ at, value: signal.level + wave + signal.noise * (random() - 0.5) });
    }
    return { name: signal.series.name, labels: signal.series.labels, points };
  });
}

function buildRules(count: number, nodes: number, random: () => number): AlertRule[] {
  const rules: AlertRule[] = BUILT_IN_RULES.slice(0, count).map((rule) => ({ ...rule }));
  for (let i = rules.length; i < count; i++) {
    // node_up is the built-in node-down rule's; the others have a range to set thresholds in.
    const metric = METRICS[1 + Math.floor(random() * (METRICS.length - 1))]!;
    const span = metric.high - metric.low;
    const above = random() < 0.7;
    const comparison: Comparison = above ? weighted(random, [['GT', 3], ['GTE', 1]]) : weighted(random, [['LT', 3], ['LTE', 1]]);
    // Thresholds near the edge of the range, so that a few per cent of the groups meet them at any time.
    const threshold = above ? metric.high - span * (0.02 + 0.13 * random()) : metric.low + span * (0.02 + 0.13 * random());
    // Aggregations that keep the metric's unit, so that the thresholds mean something (SUM and COUNT would not).
    const aggregation = weighted<Aggregation>(random, [['AVG', 4], ['MAX', 2], ['MIN', 1], ['LAST', 3]]);
    const by = weighted<string[] | undefined>(random, [[undefined, 5], [['node'], 3], [['zone'], 1], [metric.perGpu ? ['node', 'gpu'] : ['node'], 1]]);
    const matchers = weighted<LabelMatcher[]>(random, [
      [[], 4],
      [[{ label: 'zone', op: '=', value: 'eu-west-1a' }], 2],
      [[{ label: 'node', op: '=~', value: `node-0${Math.floor(random() * 10)}.*` }], 2],
      [[{ label: 'node', op: '!~', value: 'node-00[0-4].*' }], 1],
      [[{ label: 'node', op: '=', value: `node-${String(Math.floor(random() * nodes)).padStart(4, '0')}` }], 1],
    ]);
    rules.push({
      id: `rule-${i}`,
      name: `BenchRule${i}`,
      enabled: true,
      metric: metric.name,
      matchers,
      aggregation,
      windowMs: weighted(random, [[1 * MINUTE, 2], [5 * MINUTE, 2], [10 * MINUTE, 1]]),
      by,
      comparison,
      threshold,
      forMs: weighted(random, [[0, 1], [1 * MINUTE, 2], [5 * MINUTE, 1]]),
      keepFiringForMs: weighted(random, [[0, 3], [2 * MINUTE, 1]]),
      severity: weighted(random, [['INFO', 1], ['WARNING', 2], ['CRITICAL', 1]]),
      summary: '{{ $labels.node }} {{ $labels.gpu }}: {{ $value }} against {{ $threshold }}',
    });
  }
  return rules;
}

// ---------------------------------------------------------------------------------------------------------------

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return;
  const random = seededRandom(options.seed);
  const start = Date.UTC(2026, 5, 14, 15, 0, 0);
  const signals = buildSignals(options.series, start + (WARM_UP_ROUNDS + 2) * options.intervalMs, random);
  const nodes = new Set(signals.map((signal) => signal.series.labels.node)).size;
  const rules = buildRules(options.rules, nodes, random);

  let alerts: AlertState[] = [];
  const roundsMs: number[] = [];
  const roundsCpuMs: number[] = [];
  let transitions = 0;
  let notifications = 0;
  let peak = { pending: 0, firing: 0, resolved: 0 };
  for (let round = 0; round < WARM_UP_ROUNDS + options.rounds; round++) {
    const now = start + round * options.intervalMs;
    const series = seriesAt(signals, now, options, random);
    collectGarbage();
    const began = performance.now();
    const cpuBefore = process.cpuUsage();
    const result = evaluate(rules, series, alerts, now);
    const ms = performance.now() - began;
    const cpu = process.cpuUsage(cpuBefore);
    alerts = result.alerts;
    if (result.invalidRules.length > 0) throw new Error(`invalid bench rules: ${JSON.stringify(result.invalidRules[0])}`);
    if (round < WARM_UP_ROUNDS) continue;
    roundsMs.push(ms);
    roundsCpuMs.push((cpu.user + cpu.system) / 1000);
    transitions += result.transitions.length;
    notifications += result.transitions.filter((transition) => transition.notify).length;
    const counts = { pending: 0, firing: 0, resolved: 0 };
    for (const alert of alerts) {
      if (alert.state === 'PENDING') counts.pending++;
      else if (alert.state === 'FIRING') counts.firing++;
      else if (alert.state === 'RESOLVED') counts.resolved++;
    }
    if (counts.pending + counts.firing > peak.pending + peak.firing) peak = counts;
  }
  const sorted = [...roundsMs].sort((a, b) => a - b);
  const report = {
    benchmark: 'alerting',
    timestamp: new Date().toISOString(),
    parameters: {
      rules: rules.length,
      series: signals.length,
      nodes,
      pointsPerSeries: options.points,
      intervalSeconds: options.intervalMs / 1000,
      rounds: options.rounds,
      warmUpRounds: WARM_UP_ROUNDS,
      seed: options.seed,
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
    },
    /** The median evaluation round: every rule over every series, alerts carried over from the round before. */
    evaluationMs: round2(percentile(sorted, 0.5)),
    p99EvaluationMs: round2(percentile(sorted, 0.99)),
    maxEvaluationMs: round2(sorted[sorted.length - 1] ?? 0),
    /** CPU time of the median round (all threads, the garbage collector's included): wall time less waiting for a busy machine. */
    evaluationCpuMs: round2(percentile([...roundsCpuMs].sort((a, b) => a - b), 0.5)),
    loadAverage: os.loadavg().map(round2),
    targetMs: 200,
    transitions,
    notifications,
    /** Alerts held after the round with the most pending and firing alerts. */
    busiestRound: peak,
    peakRssMb: round1(process.resourceUsage().maxRSS / 1024),
  };

  const p = report.parameters;
  console.log(
    [
      `Alert evaluation: ${p.rules} rules over ${p.series} series (${p.nodes} nodes, ${p.pointsPerSeries} samples each, ` +
        `every ${p.intervalSeconds} s), ${p.rounds} rounds after ${p.warmUpRounds} warm-up, seed ${p.seed}`,
      `  per round: median ${report.evaluationMs} ms, p99 ${report.p99EvaluationMs} ms, max ${report.maxEvaluationMs} ms ` +
        `(target: under ${report.targetMs} ms); median CPU time ${report.evaluationCpuMs} ms, load average ${report.loadAverage.join(' ')}`,
      `  ${transitions} transitions, ${notifications} of them notified; busiest round held ` +
        `${peak.pending} pending, ${peak.firing} firing, ${peak.resolved} resolved alerts`,
      `  peak RSS ${report.peakRssMb} MB; ${p.cpus} × ${p.cpuModel}, Node ${p.node}`,
    ].join('\n'),
  );
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nWrote ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
