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
import { evaluate } from '../subgraphs/monitoring/alerting/evaluate';
import type { AlertState } from '../subgraphs/monitoring/alerting/types';
import { buildRules, buildSignals, nodeCount, seriesAt } from './alerting-data';
import { percentile } from './placement';
import { positiveFlag, seededRandom } from './cluster';
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

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return;
  const random = seededRandom(options.seed);
  const start = Date.UTC(2026, 5, 14, 15, 0, 0);
  const signals = buildSignals(options.series, start + (WARM_UP_ROUNDS + 2) * options.intervalMs, random);
  const nodes = nodeCount(signals);
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
