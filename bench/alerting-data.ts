// Synthetic alerting data that the alerting and monitoring benchmarks share: node and GPU metric series whose values
// wander (a level, a slow wave, noise; a few nodes go silent) and rules over them with thresholds near the edges, so
// that some alerts come and go from round to round. The same seed builds the same rules and series.
import { BUILT_IN_RULES } from '../subgraphs/monitoring/alerting/built-in-rules';
import type { Aggregation, AlertRule, Comparison, LabelMatcher, Series } from '../subgraphs/monitoring/alerting/types';
import { weighted } from './cluster';

export const MINUTE = 60_000;

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
export interface Signal {
  series: { name: string; labels: Record<string, string> };
  level: number;
  amplitude: number;
  periodMs: number;
  phase: number;
  noise: number;
  /** For node_up: the time the node stops reporting, if it does. */
  silentFrom: number;
}

/** `count` series: per node 4 node metrics and 8 GPUs × 4 GPU metrics; 2 % of the nodes go silent after `start`. */
export function buildSignals(count: number, start: number, random: () => number): Signal[] {
  const signals: Signal[] = [];
  for (let node = 0; signals.length < count; node++) {
    const name = `node-${String(node).padStart(4, '0')}`;
    const zone = ['eu-west-1a', 'eu-west-1b', 'us-east-1a'][node % 3]!;
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

export function nodeCount(signals: readonly Signal[]): number {
  return new Set(signals.map((signal) => signal.series.labels.node)).size;
}

/** The signal's sample at `at`, or undefined once it has gone silent. */
export function sampleAt(signal: Signal, at: number, random: () => number): number | undefined {
  if (at >= signal.silentFrom) return undefined;
  const wave = signal.amplitude * Math.sin((2 * Math.PI * at) / signal.periodMs + signal.phase);
  return signal.level + wave + signal.noise * (random() - 0.5);
}

/** What the storage would return at `now`: each series' samples over the last `points` intervals. */
export function seriesAt(signals: readonly Signal[], now: number, shape: { points: number; intervalMs: number }, random: () => number): Series[] {
  return signals.map((signal) => {
    const points: { at: number; value: number }[] = [];
    for (let i = shape.points - 1; i >= 0; i--) {
      const at = now - i * shape.intervalMs;
      const value = sampleAt(signal, at, random);
      if (value === undefined) break;
      points.push({ at, value });
    }
    return { name: signal.series.name, labels: signal.series.labels, points };
  });
}

/** The 5 built-in rules, then random ones over the same metrics (node_up aside), up to `count`. */
export function buildRules(count: number, nodes: number, random: () => number): AlertRule[] {
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
