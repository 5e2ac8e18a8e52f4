// The synthetic cluster and backlog the benchmarks share: seeded, so the same seed builds the same nodes and jobs.
// bench/placement.ts feeds them to the placement module alone; bench/scheduler.ts registers the nodes and submits
// the jobs through the scheduler and a real database.
import type { GpuDevice, PendingJob, PlacementNode, PlacementResult, RunningAllocation } from '../subgraphs/scheduler/placement/types';

export const GIB = 1024;

/** mulberry32: a tiny seeded PRNG, so every run with the same seed measures the same inputs. */
export function seededRandom(seed: number): () => number {
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
export function weighted<T>(random: () => number, choices: readonly (readonly [T, number])[]): T {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = random() * total;
  for (const [value, weight] of choices) {
    roll -= weight;
    if (roll < 0) return value;
  }
  return choices[choices.length - 1]![0];
}

/** A node whose allocations the batched run updates between calls, as the scheduler's database would. */
export interface BenchNode extends PlacementNode {
  allocated: { cpuMillicores: number; memoryMiB: number; gpuIndices: number[] };
  running: RunningAllocation[];
}

export const ZONES = ['eu-west-1a', 'eu-west-1b', 'us-east-1a'];

/**
 * 70 % CPU-only nodes (16 to 96 cores, 4 or 8 GiB per core), 30 % GPU nodes with 8 GPUs of 40 or 80 GiB; 3 % not
 * schedulable; 40 % already running one to four low-priority jobs, which high-priority jobs may preempt.
 */
export function buildCluster(count: number, random: () => number): BenchNode[] {
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

export function freeGpuIndices(node: BenchNode): number[] {
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
export function buildBacklog(count: number, random: () => number): PendingJob[] {
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

export function cloneCluster(nodes: readonly BenchNode[]): BenchNode[] {
  return nodes.map((node) => ({
    ...node,
    allocated: { ...node.allocated, gpuIndices: [...node.allocated.gpuIndices] },
    running: [...node.running],
  }));
}

export function allocate(node: BenchNode, allocation: RunningAllocation): void {
  node.allocated.cpuMillicores += allocation.cpuMillicores;
  node.allocated.memoryMiB += allocation.memoryMiB;
  node.allocated.gpuIndices.push(...allocation.gpuIndices);
  node.running.push(allocation);
}

/** What the scheduler does between two calls: placed jobs start running, preempted ones stop. */
export function applyResult(nodes: Map<string, BenchNode>, jobs: Map<string, PendingJob>, result: PlacementResult): void {
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

/** Reads a flag that must be a positive integer, or says which flag is wrong and how to call the bench. */
export function positiveFlag(name: string, text: string, usage: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, not ${text}\n\n${usage}`);
  return value;
}
