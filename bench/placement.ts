// Placement benchmark: how fast placeJobs decides a large backlog on a large synthetic cluster, in one call and in
// batches as the scheduler's loop calls it. Writes bench/results/placement.json.
//
//   npx tsx bench/placement.ts [--nodes 5000] [--jobs 100000] [--batch 1000] [--seed 1] [--strategy binpack|spread]
//   (run with --help for every flag)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { placeJobs } from '../subgraphs/scheduler/placement/placement';
import type { PendingJob, PlacementOptions, PlacementResult } from '../subgraphs/scheduler/placement/types';
import { applyResult, buildBacklog, buildCluster, cloneCluster, positiveFlag, seededRandom, type BenchNode } from './cluster';
import { findRepoRoot, round1, round2 } from './support';

const USAGE = `Usage: npx tsx bench/placement.ts [flags]

  --nodes N                 nodes in the synthetic cluster (default 5000): 70 % CPU-only, 30 % with 8 GPUs
  --jobs N                  pending jobs in the backlog (default 100000)
  --batch N                 jobs per call in the batched run, as the scheduler's loop calls it (default 1000)
  --seed N                  seed of the generator: the same seed builds the same cluster and backlog (default 1)
  --strategy binpack|spread placement strategy (default binpack)
  --rounds N                measured whole-backlog calls; the median is reported (default 3)
  --help                    show this help`;

const REPO_ROOT = findRepoRoot(__dirname);
const RESULTS_FILE = path.join(REPO_ROOT, 'bench/results/placement.json');

interface Options {
  nodes: number;
  jobs: number;
  batch: number;
  seed: number;
  strategy: PlacementOptions['strategy'];
  rounds: number;
}

/** What the measurements need of the options (bench/scheduler.ts measures the module alone with them too). */
export type MeasureOptions = Pick<Options, 'batch' | 'strategy' | 'rounds'>;

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string', default: '5000' },
      jobs: { type: 'string', default: '100000' },
      batch: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      strategy: { type: 'string', default: 'binpack' },
      rounds: { type: 'string', default: '3' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  const positive = (name: string, text: string) => positiveFlag(name, text, USAGE);
  if (values.strategy !== 'binpack' && values.strategy !== 'spread') throw new Error(`--strategy must be binpack or spread\n\n${USAGE}`);
  return {
    nodes: positive('nodes', values.nodes),
    jobs: positive('jobs', values.jobs),
    batch: positive('batch', values.batch),
    seed: positive('seed', values.seed),
    strategy: values.strategy,
    rounds: positive('rounds', values.rounds),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring

export interface Outcome {
  placed: number;
  unschedulable: number;
  preempted: number;
}

function outcomeOf(result: PlacementResult): Outcome {
  return { placed: result.placements.length, unschedulable: result.unschedulable.length, preempted: result.preemptions.length };
}

function addOutcome(total: Outcome, more: Outcome): Outcome {
  return { placed: total.placed + more.placed, unschedulable: total.unschedulable + more.unschedulable, preempted: total.preempted + more.preempted };
}

/** The whole backlog in one call, `rounds` times on the same inputs; the median round. */
export function measureWholeBacklog(nodes: BenchNode[], jobs: PendingJob[], options: MeasureOptions) {
  // Only the counts are kept, so that the results of earlier rounds do not weigh on the peak memory.
  const rounds: { ms: number; outcome: Outcome }[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const start = performance.now();
    const result = placeJobs(nodes, jobs, { strategy: options.strategy });
    rounds.push({ ms: performance.now() - start, outcome: outcomeOf(result) });
  }
  const median = [...rounds].sort((a, b) => a.ms - b.ms)[Math.floor(rounds.length / 2)]!;
  return { ms: median.ms, roundsMs: rounds.map((round) => round2(round.ms)), outcome: median.outcome };
}

/**
 * The backlog in arrival order, `batch` jobs per call, applying each call's decisions to the cluster before the next
 * (outside the timing): later high-priority jobs may then preempt jobs placed by earlier calls. Jobs left unschedulable
 * are not retried, as the loop would, so that every call sees new jobs.
 */
export function measureBatches(cluster: BenchNode[], jobs: PendingJob[], options: MeasureOptions) {
  const nodes = cloneCluster(cluster);
  const nodesById = new Map(nodes.map((node) => [node.id, node]));
  const jobsById = new Map(jobs.map((job) => [job.id, job]));
  const latencies: number[] = [];
  let outcome: Outcome = { placed: 0, unschedulable: 0, preempted: 0 };
  for (let offset = 0; offset < jobs.length; offset += options.batch) {
    const batch = jobs.slice(offset, offset + options.batch);
    const start = performance.now();
    const result = placeJobs(nodes, batch, { strategy: options.strategy });
    latencies.push(performance.now() - start);
    outcome = addOutcome(outcome, outcomeOf(result));
    applyResult(nodesById, jobsById, result);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const totalMs = latencies.reduce((sum, ms) => sum + ms, 0);
  return {
    batches: latencies.length,
    totalMs,
    p50BatchMs: percentile(sorted, 0.5),
    p99BatchMs: percentile(sorted, 0.99),
    maxBatchMs: sorted[sorted.length - 1] ?? 0,
    outcome,
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}

/** Runs the algorithm on part of the inputs so the JIT has compiled its hot paths before anything is timed. */
export function warmUp(nodes: BenchNode[], jobs: PendingJob[], options: MeasureOptions): void {
  const sample = jobs.slice(0, Math.min(jobs.length, 20_000));
  for (let i = 0; i < 3; i++) placeJobs(nodes, sample, { strategy: options.strategy });
  placeJobs(nodes, jobs.slice(0, options.batch), { strategy: options.strategy });
}

// ---------------------------------------------------------------------------------------------------------------

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return;
  const random = seededRandom(options.seed);
  const nodes = buildCluster(options.nodes, random);
  const jobs = buildBacklog(options.jobs, random);
  const gpuNodes = nodes.filter((node) => node.gpus.length > 0).length;
  const gpuJobs = jobs.filter((job) => job.gpuCount > 0).length;
  const runningAllocations = nodes.reduce((sum, node) => sum + node.running.length, 0);

  warmUp(nodes, jobs, options);
  const whole = measureWholeBacklog(nodes, jobs, options);
  const batched = measureBatches(nodes, jobs, options);
  const peakRssMb = round1(process.resourceUsage().maxRSS / 1024);

  const placementsPerSecond = Math.round(jobs.length / (whole.ms / 1000));
  const report = {
    benchmark: 'placement',
    timestamp: new Date().toISOString(),
    parameters: {
      nodes: options.nodes,
      gpuNodes,
      runningAllocations,
      jobs: options.jobs,
      gpuJobs,
      batchSize: options.batch,
      seed: options.seed,
      strategy: options.strategy,
      rounds: options.rounds,
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
    },
    /** Jobs decided (placed or found unschedulable) per second, whole backlog in one call. */
    placementsPerSecond,
    /** Jobs actually placed per second in that call. */
    placedJobsPerSecond: Math.round(whole.outcome.placed / (whole.ms / 1000)),
    wholeBacklogMs: round2(whole.ms),
    wholeBacklogRoundsMs: whole.roundsMs,
    wholeBacklog: whole.outcome,
    batchPlacementsPerSecond: Math.round(jobs.length / (batched.totalMs / 1000)),
    p50BatchMs: round2(batched.p50BatchMs),
    p99BatchMs: round2(batched.p99BatchMs),
    maxBatchMs: round2(batched.maxBatchMs),
    batches: batched.batches,
    batched: batched.outcome,
    peakRssMb,
  };

  const p = report.parameters;
  console.log(
    [
      `Placement: ${p.jobs} jobs (${p.gpuJobs} needing GPUs) on ${p.nodes} nodes ` +
        `(${p.gpuNodes} with GPUs, ${p.runningAllocations} allocations running), ${p.strategy}, seed ${p.seed}`,
      `  whole backlog in one call: ${report.placementsPerSecond} placements/s ` +
        `(${report.wholeBacklogMs} ms, median of ${p.rounds}: ${report.wholeBacklogRoundsMs.join(', ')} ms)`,
      `    ${whole.outcome.placed} placed (${report.placedJobsPerSecond}/s), ` +
        `${whole.outcome.unschedulable} unschedulable, ${whole.outcome.preempted} preempted`,
      `  in batches of ${p.batchSize}: ${report.batchPlacementsPerSecond} placements/s, ` +
        `per batch p50 ${report.p50BatchMs} ms, p99 ${report.p99BatchMs} ms, max ${report.maxBatchMs} ms`,
      `    ${batched.outcome.placed} placed, ${batched.outcome.unschedulable} unschedulable, ${batched.outcome.preempted} preempted`,
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
