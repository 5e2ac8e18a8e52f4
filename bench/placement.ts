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
import type {
  GpuDevice,
  PendingJob,
  PlacementNode,
  PlacementOptions,
  PlacementResult,
  RunningAllocation,
} from '../subgraphs/scheduler/placement/types';

const USAGE = `Usage: npx tsx bench/placement.ts [flags]

  --nodes N                 nodes in the synthetic cluster (default 5000): 70 % CPU-only, 30 % with 8 GPUs
  --jobs N                  pending jobs in the backlog (default 100000)
  --batch N                 jobs per call in the batched run, as the scheduler's loop calls it (default 1000)
  --seed N                  seed of the generator: the same seed builds the same cluster and backlog (default 1)
  --strategy binpack|spread placement strategy (default binpack)
  --rounds N                measured whole-backlog calls; the median is reported (default 3)
  --help                    show this help`;

const GIB = 1024;
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
  const positive = (name: string, text: string) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, not ${text}\n\n${USAGE}`);
    return value;
  };
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
// The synthetic cluster and backlog

/** mulberry32: a tiny seeded PRNG, so every run with the same seed measures the same inputs. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks from weighted choices: [[value, weight], ...]. */
function weighted<T>(random: () => number, choices: readonly (readonly [T, number])[]): T {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = random() * total;
  for (const [value, weight] of choices) {
    roll -= weight;
    if (roll < 0) return value;
  }
  return choices[choices.length - 1]![0];
}

/** A node whose allocations the batched run updates between calls, as the scheduler's database would. */
interface BenchNode extends PlacementNode {
  allocated: { cpuMillicores: number; memoryMiB: number; gpuIndices: number[] };
  running: RunningAllocation[];
}

const ZONES = ['eu-west-1a', 'eu-west-1b', 'us-east-1a'];

/**
 * 70 % CPU-only nodes (16 to 96 cores, 4 or 8 GiB per core), 30 % GPU nodes with 8 GPUs of 40 or 80 GiB; 3 % not
 * schedulable; 40 % already running one to four low-priority jobs, which high-priority jobs may preempt.
 */
function buildCluster(count: number, random: () => number): BenchNode[] {
  const nodes: BenchNode[] = [];
  for (let i = 0; i < count; i++) {
    const gpuNode = random() < 0.3;
    const zone = ZONES[Math.floor(random() * ZONES.length)]!;
    const status = weighted(random, [['READY', 97], ['NOT_READY', 2], ['CORDONED', 1]] as const);
    let node: BenchNode;
    if (gpuNode) {
      const [model, memoryMiB] = weighted(random, [[['a100-40gb', 40 * GIB], 1], [['a100-80gb', 80 * GIB], 1]] as const);
      const gpus: GpuDevice[] = Array.from({ length: 8 }, (_, index) => ({ index, memoryMiB, model }));
      const cores = weighted(random, [[96, 1], [128, 1]] as const);
      node = newNode(i, status, { zone, gpu: model, pool: 'gpu' }, ['docker'], cores * 1000, cores * 8 * GIB, gpus);
    } else {
      const cores = weighted(random, [[16, 2], [32, 4], [64, 3], [96, 1]] as const);
      const perCore = weighted(random, [[4, 3], [8, 1]] as const);
      const runtimes = random() < 0.9 ? ['docker', 'process'] : ['process'];
      node = newNode(i, status, { zone, pool: perCore === 8 ? 'highmem' : 'general' }, runtimes, cores * 1000, cores * perCore * GIB, []);
    }
    if (random() < 0.4) addExistingLoad(node, random);
    nodes.push(node);
  }
  return nodes;
}

function newNode(
  i: number,
  status: string,
  labels: Record<string, string>,
  runtimes: string[],
  cpuMillicores: number,
  memoryMiB: number,
  gpus: GpuDevice[],
): BenchNode {
  return {
    id: `node-${i}`,
    name: `node-${String(i).padStart(5, '0')}`,
    labels,
    runtimes,
    schedulable: status === 'READY',
    status,
    allocatable: { cpuMillicores, memoryMiB },
    gpus,
    allocated: { cpuMillicores: 0, memoryMiB: 0, gpuIndices: [] },
    running: [],
  };
}

function addExistingLoad(node: BenchNode, random: () => number): void {
  const count = 1 + Math.floor(random() * 4);
  for (let k = 0; k < count; k++) {
    const cpu = Math.floor(node.allocatable.cpuMillicores * (0.05 + random() * 0.1));
    const memory = Math.floor(node.allocatable.memoryMiB * (0.05 + random() * 0.1));
    const gpuIndices = node.gpus.length > 0 && random() < 0.5 ? freeGpuIndices(node).slice(0, 1 + Math.floor(random() * 2)) : [];
    const jobId = `running-${node.id}-${k}`;
    const priority = weighted(random, [[0, 2], [5, 1], [10, 1]] as const);
    allocate(node, { attemptId: `attempt-${jobId}`, jobId, priority, cpuMillicores: cpu, memoryMiB: memory, gpuIndices });
  }
}

function freeGpuIndices(node: BenchNode): number[] {
  return node.gpus.map((gpu) => gpu.index).filter((index) => !node.allocated.gpuIndices.includes(index));
}

/** Job templates, as a real cluster's jobs come from a handful of pipelines: [cpu millicores, memory MiB, weight]. */
const CPU_SHAPES = [
  [250, 512, 10],
  [500, 1 * GIB, 20],
  [1000, 2 * GIB, 25],
  [2000, 4 * GIB, 15],
  [2000, 8 * GIB, 8],
  [4000, 8 * GIB, 10],
  [4000, 16 * GIB, 5],
  [8000, 32 * GIB, 4],
  [16000, 64 * GIB, 2],
  [32000, 128 * GIB, 1],
] as const;

/**
 * 100,000 jobs by default: priorities 0 to 100, 8 % needing 1 to 8 GPUs (some at least 40 or 80 GiB each), 15 % with a
 * zone selector, 1 % with a selector no node matches, 2 % for the `simulated` runtime no node offers.
 */
function buildBacklog(count: number, random: () => number): PendingJob[] {
  const jobs: PendingJob[] = [];
  for (let i = 0; i < count; i++) {
    const gpuCount = random() < 0.08 ? weighted(random, [[1, 60], [2, 20], [4, 12], [8, 8]] as const) : 0;
    const [cpu, memory] = gpuCount > 0
      ? [
          gpuCount * weighted(random, [[4000, 1], [8000, 2], [12000, 1]] as const),
          gpuCount * weighted(random, [[32 * GIB, 1], [64 * GIB, 2]] as const),
        ]
      : weighted(random, CPU_SHAPES.map(([c, m, weight]) => [[c, m] as const, weight] as const));
    const nodeSelector: Record<string, string> = {};
    if (random() < 0.15) nodeSelector.zone = ZONES[Math.floor(random() * ZONES.length)]!;
    if (gpuCount > 0 && random() < 0.2) nodeSelector.gpu = 'a100-80gb';
    if (random() < 0.01) nodeSelector.team = 'nobody';
    jobs.push({
      id: `job-${i}`,
      priority: weighted(random, [[0, 30], [10, 25], [20, 20], [50, 15], [100, 10]] as const),
      runtime: weighted(random, [['docker', 85], ['process', 13], ['simulated', 2]] as const),
      cpuMillicores: cpu,
      memoryMiB: memory,
      gpuCount,
      gpuMemoryMiB: gpuCount > 0 ? weighted(random, [[0, 3], [20 * GIB, 3], [40 * GIB, 2], [80 * GIB, 2]] as const) : 0,
      nodeSelector,
    });
  }
  return jobs;
}

function cloneCluster(nodes: readonly BenchNode[]): BenchNode[] {
  return nodes.map((node) => ({
    ...node,
    allocated: { ...node.allocated, gpuIndices: [...node.allocated.gpuIndices] },
    running: [...node.running],
  }));
}

function allocate(node: BenchNode, allocation: RunningAllocation): void {
  node.allocated.cpuMillicores += allocation.cpuMillicores;
  node.allocated.memoryMiB += allocation.memoryMiB;
  node.allocated.gpuIndices.push(...allocation.gpuIndices);
  node.running.push(allocation);
}

/** What the scheduler does between two calls: placed jobs start running, preempted ones stop. */
function applyResult(nodes: Map<string, BenchNode>, jobs: Map<string, PendingJob>, result: PlacementResult): void {
  for (const preemption of result.preemptions) {
    const node = nodes.get(preemption.nodeId)!;
    const victim = node.running.find((allocation) => allocation.attemptId === preemption.attemptId)!;
    node.running = node.running.filter((allocation) => allocation !== victim);
    node.allocated.cpuMillicores -= victim.cpuMillicores;
    node.allocated.memoryMiB -= victim.memoryMiB;
    node.allocated.gpuIndices = node.allocated.gpuIndices.filter((index) => !victim.gpuIndices.includes(index));
  }
  for (const placement of result.placements) {
    const job = jobs.get(placement.jobId)!;
    allocate(nodes.get(placement.nodeId)!, {
      attemptId: `attempt-${job.id}`,
      jobId: job.id,
      priority: job.priority,
      cpuMillicores: job.cpuMillicores,
      memoryMiB: job.memoryMiB,
      gpuIndices: placement.gpuIndices,
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring

interface Outcome {
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
function measureWholeBacklog(nodes: BenchNode[], jobs: PendingJob[], options: Options) {
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
function measureBatches(cluster: BenchNode[], jobs: PendingJob[], options: Options) {
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

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}

/** Runs the algorithm on part of the inputs so the JIT has compiled its hot paths before anything is timed. */
function warmUp(nodes: BenchNode[], jobs: PendingJob[], options: Options): void {
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

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
