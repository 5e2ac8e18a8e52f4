// The placement algorithm on its own: which node each pending job gets, which GPUs, what is preempted for it, and why a
// job that fits nowhere does not; with a seeded random test of the invariants (nothing over-committed, no GPU twice).
import { describe, expect, it } from 'vitest';
import { placeJobs } from '../../subgraphs/scheduler/placement/placement';
import type {
  GpuDevice,
  PendingJob,
  PlacementNode,
  PlacementOptions,
  PlacementResult,
  RunningAllocation,
} from '../../subgraphs/scheduler/placement/types';

const GIB = 1024;

/** A ready node with 8 cores and 32 GiB, offering docker and process, nothing on it. */
function node(id: string, overrides: Partial<PlacementNode> = {}): PlacementNode {
  return {
    id,
    name: id,
    labels: {},
    runtimes: ['docker', 'process'],
    schedulable: true,
    status: 'READY',
    allocatable: { cpuMillicores: 8000, memoryMiB: 32 * GIB },
    gpus: [],
    allocated: { cpuMillicores: 0, memoryMiB: 0, gpuIndices: [] },
    running: [],
    ...overrides,
  };
}

/** A node already running these allocations, its `allocated` being their sum. */
function busyNode(id: string, running: RunningAllocation[], overrides: Partial<PlacementNode> = {}): PlacementNode {
  return node(id, {
    ...overrides,
    running,
    allocated: {
      cpuMillicores: running.reduce((sum, allocation) => sum + allocation.cpuMillicores, 0),
      memoryMiB: running.reduce((sum, allocation) => sum + allocation.memoryMiB, 0),
      gpuIndices: running.flatMap((allocation) => allocation.gpuIndices),
    },
  });
}

function running(jobId: string, priority: number, cpuMillicores: number, gpuIndices: number[] = [], memoryMiB = 1 * GIB): RunningAllocation {
  return { attemptId: `attempt-${jobId}`, jobId, priority, cpuMillicores, memoryMiB, gpuIndices };
}

/** GPUs with these memory sizes, indexed from 0. */
function gpus(...memoryMiB: number[]): GpuDevice[] {
  return memoryMiB.map((memory, index) => ({ index, memoryMiB: memory }));
}

/** A docker job asking for 1 core and 1 GiB, priority 0. */
function job(id: string, overrides: Partial<PendingJob> = {}): PendingJob {
  return {
    ...{ id, priority: 0, runtime: 'docker', cpuMillicores: 1000, memoryMiB: 1 * GIB },
    ...{ gpuCount: 0, gpuMemoryMiB: 0, nodeSelector: {} },
    ...overrides,
  };
}

function nodeOf(result: PlacementResult, jobId: string): string | undefined {
  return result.placements.find((placement) => placement.jobId === jobId)?.nodeId;
}

function gpusOf(result: PlacementResult, jobId: string): number[] | undefined {
  return result.placements.find((placement) => placement.jobId === jobId)?.gpuIndices;
}

function reasonOf(result: PlacementResult, jobId: string): string | undefined {
  return result.unschedulable.find((entry) => entry.jobId === jobId)?.reason;
}

describe('placeJobs: strategies', () => {
  it('bin-packing puts a job on the node it leaves fullest, spreading on the emptiest', () => {
    const nodes = [node('empty'), busyNode('half-full', [running('etl', 0, 4000)])];

    expect(nodeOf(placeJobs(nodes, [job('report')]), 'report')).toBe('half-full');
    expect(nodeOf(placeJobs(nodes, [job('report')], { strategy: 'binpack' }), 'report')).toBe('half-full');
    expect(nodeOf(placeJobs(nodes, [job('report')], { strategy: 'spread' }), 'report')).toBe('empty');
  });

  it('bin-packing fills one node before starting the next; spreading takes turns', () => {
    const nodes = [node('a'), node('b')];
    const jobs = ['j1', 'j2', 'j3', 'j4'].map((id) => job(id, { cpuMillicores: 2000 }));

    const packed = placeJobs(nodes, jobs, { strategy: 'binpack' });
    const spread = placeJobs(nodes, jobs, { strategy: 'spread' });

    expect(packed.placements.map((placement) => placement.nodeId)).toEqual(['a', 'a', 'a', 'a']);
    expect(spread.placements.map((placement) => placement.nodeId)).toEqual(['a', 'b', 'a', 'b']);
  });

  it('later jobs in the same call see the resources earlier ones took', () => {
    const result = placeJobs([node('a'), node('b')], [job('big-1', { cpuMillicores: 6000 }), job('big-2', { cpuMillicores: 6000 })]);

    expect(new Set([nodeOf(result, 'big-1'), nodeOf(result, 'big-2')])).toEqual(new Set(['a', 'b']));
  });

  it('finds the one node with room among many full ones', () => {
    const full = Array.from({ length: 200 }, (_, i) => busyNode(`full-${i}`, [running(`etl-${i}`, 100, 8000)]));
    const nodes = [...full.slice(0, 150), node('free'), ...full.slice(150)];

    for (const strategy of ['binpack', 'spread'] as const) {
      expect(nodeOf(placeJobs(nodes, [job('report')], { strategy }), 'report')).toBe('free');
    }
  });
});

describe('placeJobs: GPUs', () => {
  it('gives a job the smallest free GPUs that are large enough, keeping big ones for jobs that need them', () => {
    const nodes = [node('mixed', { gpus: gpus(80 * GIB, 40 * GIB, 80 * GIB, 40 * GIB) })];

    const result = placeJobs(nodes, [
      job('inference', { priority: 1, gpuCount: 1, gpuMemoryMiB: 30 * GIB }),
      job('training', { gpuCount: 2, gpuMemoryMiB: 60 * GIB }),
    ]);

    expect(gpusOf(result, 'inference')).toEqual([1]);
    expect(gpusOf(result, 'training')).toEqual([0, 2]);
  });

  it('never gives a GPU to two jobs, in the same call or when one already holds it', () => {
    const nodes = [busyNode('gpu-box', [running('old', 100, 1000, [1])], { gpus: gpus(40 * GIB, 40 * GIB, 40 * GIB, 40 * GIB) })];
    const jobs = ['g1', 'g2', 'g3', 'g4'].map((id) => job(id, { gpuCount: 1 }));

    const result = placeJobs(nodes, jobs);

    expect(result.placements.map((placement) => placement.gpuIndices).flat().sort()).toEqual([0, 2, 3]);
    expect(reasonOf(result, 'g4')).toBe('0/1 nodes can run it: 1 lacks a free GPU');
  });

  it('counts only the GPUs with the memory the job asks for', () => {
    const result = placeJobs([node('small-gpus', { gpus: gpus(40 * GIB, 40 * GIB) })], [job('llm', { gpuCount: 1, gpuMemoryMiB: 80 * GIB })]);

    expect(result.placements).toEqual([]);
    expect(reasonOf(result, 'llm')).toBe(
      '0/1 nodes can run it: 1 has no GPU with at least 81920 MiB; no node has a GPU with at least 81920 MiB (the largest GPU has 40960 MiB)',
    );
  });

  it('puts a job that is content with small GPUs on a node of small GPUs, even when a big-GPU node is listed first', () => {
    const nodes = [node('h100s', { gpus: gpus(80 * GIB, 80 * GIB) }), node('a100s', { gpus: gpus(40 * GIB, 40 * GIB) })];

    const result = placeJobs(nodes, [job('small', { gpuCount: 1, gpuMemoryMiB: 20 * GIB }), job('large', { gpuCount: 1, gpuMemoryMiB: 60 * GIB })]);

    expect(nodeOf(result, 'small')).toBe('a100s');
    expect(nodeOf(result, 'large')).toBe('h100s');
  });

  it('keeps CPU-only jobs off GPU nodes while a CPU-only node has room, and uses them when none has', () => {
    // Bin-packing alone would pick the fuller GPU node.
    const nodes = [
      busyNode('gpu-box', [running('etl', 100, 6000)], { gpus: gpus(40 * GIB) }),
      node('cpu-box', { allocatable: { cpuMillicores: 4000, memoryMiB: 32 * GIB } }),
    ];

    const result = placeJobs(nodes, [job('first', { priority: 1, cpuMillicores: 4000 }), job('second', { cpuMillicores: 1000 })]);

    expect(nodeOf(result, 'first')).toBe('cpu-box');
    expect(nodeOf(result, 'second')).toBe('gpu-box');
    expect(gpusOf(result, 'second')).toEqual([]);
  });
});

describe('placeJobs: filters', () => {
  it('places a job only on nodes carrying every label of its selector with the same value', () => {
    const nodes = [
      node('a100-us', { labels: { gpu: 'a100', zone: 'us' } }),
      node('a100', { labels: { gpu: 'a100' } }),
      node('h100-eu', { labels: { gpu: 'h100', zone: 'eu' } }),
      node('a100-eu', { labels: { gpu: 'a100', zone: 'eu' } }),
    ];

    const pinned = job('pinned', { nodeSelector: { gpu: 'a100', zone: 'eu' } });

    expect(nodeOf(placeJobs(nodes, [pinned]), 'pinned')).toBe('a100-eu');
    expect(nodeOf(placeJobs(nodes, [pinned], { strategy: 'spread' }), 'pinned')).toBe('a100-eu');
    expect(reasonOf(placeJobs(nodes, [job('lost', { nodeSelector: { zone: 'mars' } })]), 'lost')).toBe(
      '0/4 nodes can run it: 4 do not match the selector zone=mars',
    );
  });

  it('places a job only on nodes offering its runtime', () => {
    const nodes = [node('processes', { runtimes: ['process'] }), node('containers', { runtimes: ['docker'] })];

    const result = placeJobs(nodes, [job('in-docker', { runtime: 'docker' }), job('as-process', { runtime: 'process' })]);

    expect(nodeOf(result, 'in-docker')).toBe('containers');
    expect(nodeOf(result, 'as-process')).toBe('processes');
  });

  it('gives nothing to nodes that are not schedulable, and says what they are', () => {
    const nodes = [
      node('down-1', { schedulable: false, status: 'NOT_READY' }),
      node('cordoned', { schedulable: false, status: 'CORDONED' }),
      node('down-2', { schedulable: false, status: 'NOT_READY' }),
    ];

    const result = placeJobs(nodes, [job('report')]);

    expect(result.placements).toEqual([]);
    expect(reasonOf(result, 'report')).toBe('0/3 nodes can run it: 2 are NOT_READY; 1 is CORDONED');
  });
});

describe('placeJobs: order', () => {
  it('places higher priorities first, and first come first served within a priority', () => {
    const nodes = [node('only', { allocatable: { cpuMillicores: 2000, memoryMiB: 32 * GIB } })];

    const result = placeJobs(nodes, [job('early-low'), job('urgent', { priority: 5 }), job('late-low')]);

    expect(result.placements.map((placement) => placement.jobId)).toEqual(['urgent', 'early-low']);
    expect(result.unschedulable.map((entry) => entry.jobId)).toEqual(['late-low']);
  });

  it('lets smaller lower-priority jobs past a job that fits nowhere (backfill)', () => {
    const nodes = [node('only', { allocatable: { cpuMillicores: 4000, memoryMiB: 32 * GIB } })];

    const result = placeJobs(nodes, [job('huge', { priority: 10, cpuMillicores: 6000 }), job('small-1'), job('small-2')]);

    expect(result.unschedulable.map((entry) => entry.jobId)).toEqual(['huge']);
    expect(result.placements.map((placement) => placement.jobId)).toEqual(['small-1', 'small-2']);
  });
});

describe('placeJobs: preemption', () => {
  const fullNode = (priority: number) => busyNode('full', [running('batch', priority, 8000)]);

  it('evicts a job at least 10 priority levels lower, and not one 9 levels lower', () => {
    const nine = placeJobs([fullNode(0)], [job('urgent', { priority: 9 })]);
    const ten = placeJobs([fullNode(0)], [job('urgent', { priority: 10 })]);

    expect(nine.preemptions).toEqual([]);
    expect(nine.unschedulable.map((entry) => entry.jobId)).toEqual(['urgent']);
    expect(ten.preemptions).toEqual([{ attemptId: 'attempt-batch', jobId: 'batch', nodeId: 'full', preemptedFor: 'urgent' }]);
    expect(nodeOf(ten, 'urgent')).toBe('full');
  });

  it('honours another priority gap when given one', () => {
    expect(placeJobs([fullNode(0)], [job('urgent', { priority: 5 })], { preemptionPriorityGap: 5 }).preemptions).toHaveLength(1);
  });

  it('evicts nothing when preemption is off', () => {
    const result = placeJobs([fullNode(0)], [job('urgent', { priority: 100 })], { preemption: false });

    expect(result.preemptions).toEqual([]);
    expect(result.placements).toEqual([]);
  });

  it('evicts the lowest priority first', () => {
    const nodes = [busyNode('full', [running('nightly', 5, 4000), running('backfill', 0, 4000)])];

    const result = placeJobs(nodes, [job('urgent', { priority: 50, cpuMillicores: 3000 })]);

    expect(result.preemptions.map((preemption) => preemption.jobId)).toEqual(['backfill']);
  });

  it('evicts as few allocations as make room, choosing the node that needs the fewest', () => {
    const nodes = [
      busyNode('four-small', [running('s1', 0, 2000), running('s2', 0, 2000), running('s3', 0, 2000), running('s4', 0, 2000)]),
      busyNode('one-big', [running('big', 0, 4000), running('protected', 50, 4000)]),
    ];
    const mixed = [busyNode('mixed', [running('m1', 0, 2000), running('m2', 0, 2000), running('m3', 0, 4000)])];

    const acrossNodes = placeJobs(nodes, [job('urgent', { priority: 20, cpuMillicores: 4000 })]);
    const onOneNode = placeJobs(mixed, [job('urgent', { priority: 20, cpuMillicores: 4000 })]);

    expect(acrossNodes.preemptions.map((preemption) => preemption.jobId)).toEqual(['big']);
    expect(nodeOf(acrossNodes, 'urgent')).toBe('one-big');
    expect(onOneNode.preemptions.map((preemption) => preemption.jobId)).toEqual(['m3']);
  });

  it('evicts nothing when even evicting every eligible allocation would not make room', () => {
    const nodes = [busyNode('full', [running('low', 0, 4000), running('high', 50, 4000)])];

    const result = placeJobs(nodes, [job('urgent', { priority: 20, cpuMillicores: 6000 })]);

    expect(result.preemptions).toEqual([]);
    expect(reasonOf(result, 'urgent')).toBe('0/1 nodes can run it: 1 lacks 6000 free CPU millicores');
  });

  it('evicts an allocation once, and never a job placed in the same call', () => {
    const result = placeJobs(
      [fullNode(0)],
      [
        job('first', { priority: 20, cpuMillicores: 4000 }),
        job('second', { priority: 20, cpuMillicores: 4000 }),
        job('top', { priority: 100, cpuMillicores: 4000 }),
      ],
    );

    expect(result.preemptions.map((preemption) => [preemption.jobId, preemption.preemptedFor])).toEqual([['batch', 'top']]);
    expect(result.placements.map((placement) => placement.jobId)).toEqual(['top', 'first']);
    expect(result.unschedulable.map((entry) => entry.jobId)).toEqual(['second']);
  });

  it('gives the job the GPUs an eviction frees', () => {
    const nodes = [busyNode('gpu-box', [running('sweep', 0, 1000, [0, 1])], { gpus: gpus(40 * GIB, 40 * GIB) })];

    const result = placeJobs(nodes, [job('urgent', { priority: 10, gpuCount: 2 })]);

    expect(result.preemptions.map((preemption) => preemption.jobId)).toEqual(['sweep']);
    expect(gpusOf(result, 'urgent')).toEqual([0, 1]);
  });
});

describe('placeJobs: unschedulable reasons', () => {
  it('counts the nodes per cause, most common first, with the numbers the job asked for', () => {
    const a100s = gpus(40 * GIB, 40 * GIB, 40 * GIB, 40 * GIB);
    const nodes = [
      busyNode('a100-1', [running('r1', 100, 1000, [0, 1, 2])], { labels: { gpu: 'a100' }, gpus: a100s }),
      busyNode('a100-2', [running('r2', 100, 1000, [1, 2, 3])], { labels: { gpu: 'a100' }, gpus: a100s }),
      node('h100-1', { labels: { gpu: 'h100' }, gpus: a100s }),
      node('h100-2', { labels: { gpu: 'h100' }, gpus: a100s }),
      node('a100-3', { labels: { gpu: 'a100' }, gpus: a100s, schedulable: false, status: 'NOT_READY' }),
    ];

    const result = placeJobs(nodes, [job('training', { gpuCount: 2, gpuMemoryMiB: 40 * GIB, nodeSelector: { gpu: 'a100' } })]);

    expect(reasonOf(result, 'training')).toBe(
      '0/5 nodes can run it: 2 lack 2 free GPUs with at least 40960 MiB each; 2 do not match the selector gpu=a100; 1 is NOT_READY',
    );
  });

  it('names a missing runtime, and missing CPU and memory', () => {
    const nodes = [
      node('processes-only', { runtimes: ['process'] }),
      busyNode('busy-1', [running('r1', 100, 6000)]),
      busyNode('busy-2', [running('r2', 100, 6000)]),
      busyNode('low-memory', [running('r3', 100, 0, [], 30 * GIB)]),
    ];

    const result = placeJobs(nodes, [job('etl', { cpuMillicores: 4000, memoryMiB: 8 * GIB })]);

    expect(reasonOf(result, 'etl')).toBe(
      '0/4 nodes can run it: 2 lack 4000 free CPU millicores; 1 lacks 8192 MiB of free memory; 1 does not offer the runtime docker',
    );
  });

  it('says so when no node has joined', () => {
    expect(placeJobs([], [job('report')]).unschedulable).toEqual([{ jobId: 'report', reason: 'no nodes have joined' }]);
  });

  it('says when a job asks for more than any node has at all', () => {
    const nodes = [node('a', { gpus: gpus(...Array<number>(8).fill(80 * GIB)) }), node('b', { gpus: gpus(40 * GIB) })];

    const result = placeJobs(nodes, [job('giant', { gpuCount: 64 }), job('wide', { cpuMillicores: 256_000 })]);

    expect(reasonOf(result, 'giant')).toBe('0/2 nodes can run it: 2 have fewer than 64 GPUs; no node has 64 GPUs (the most is 8)');
    expect(reasonOf(result, 'wide')).toBe(
      '0/2 nodes can run it: 2 lack 256000 free CPU millicores; no node has 256000 CPU millicores (the largest has 8000)',
    );
  });

  it('names nodes without any GPU apart from those with too few', () => {
    const nodes = [node('cpu-1'), node('cpu-2'), node('one-gpu', { gpus: gpus(40 * GIB) })];

    expect(reasonOf(placeJobs(nodes, [job('pair', { gpuCount: 2 })]), 'pair')).toBe(
      '0/3 nodes can run it: 2 have no GPUs; 1 has fewer than 2 GPUs; no node has 2 GPUs (the most is 1)',
    );
  });

  it('gives every job of a backlog that fits nowhere its reason', () => {
    const backlog = Array.from({ length: 1000 }, (_, i) => job(`copy-${i}`, { cpuMillicores: 16_000 }));

    const result = placeJobs([node('a'), node('b')], backlog);

    expect(result.unschedulable).toHaveLength(1000);
    expect(new Set(result.unschedulable.map((entry) => entry.reason))).toEqual(
      new Set(['0/2 nodes can run it: 2 lack 16000 free CPU millicores; no node has 16000 CPU millicores (the largest has 8000)']),
    );
  });
});

describe('placeJobs: inputs', () => {
  it('does not modify the nodes or the jobs it is given', () => {
    const nodes = [
      busyNode('gpu-box', [running('sweep', 0, 6000, [0])], { gpus: gpus(40 * GIB, 80 * GIB), labels: { gpu: 'mixed' } }),
      node('cpu-box'),
    ];
    const jobs = [job('urgent', { priority: 50, cpuMillicores: 4000, gpuCount: 2 }), job('report'), job('huge', { cpuMillicores: 99_000 })];
    const before = structuredClone({ nodes, jobs });

    const result = placeJobs(deepFreeze(nodes), deepFreeze(jobs));

    expect(result.preemptions).toHaveLength(1);
    expect({ nodes, jobs }).toEqual(before);
  });
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// Random clusters and backlogs: whatever the inputs, the decisions are sound.

/** mulberry32: a tiny seeded PRNG, so a failing random case can be reproduced. */
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

/** Up to `maxNodes` random nodes (some with GPUs and running allocations) and up to `maxJobs` random jobs. */
function randomCase(random: () => number, maxNodes: number, maxJobs: number) {
  const pick = <T>(choices: readonly T[]): T => choices[Math.floor(random() * choices.length)]!;
  const integer = (max: number) => Math.floor(random() * (max + 1));
  const nodes: PlacementNode[] = Array.from({ length: integer(maxNodes) }, (_, n) => {
    const devices = gpus(...Array.from({ length: pick([0, 0, 1, 2, 4, 8]) }, () => pick([16, 40, 80]) * GIB));
    const allocatable = { cpuMillicores: pick([2000, 4000, 8000, 16000]), memoryMiB: pick([4, 8, 16, 64]) * GIB };
    const allocations: RunningAllocation[] = [];
    let [cpu, memory] = [0, 0];
    const freeIndices = devices.map((device) => device.index);
    for (let k = integer(4); k > 0; k--) {
      const wanted = { cpu: pick([250, 500, 1000, 2000, 4000]), memory: pick([1, 2, 4]) * GIB, gpus: pick([0, 0, 1, 2]) };
      const fits = cpu + wanted.cpu <= allocatable.cpuMillicores && memory + wanted.memory <= allocatable.memoryMiB;
      if (!fits || wanted.gpus > freeIndices.length) continue;
      [cpu, memory] = [cpu + wanted.cpu, memory + wanted.memory];
      allocations.push(running(`running-${n}-${k}`, pick([0, 5, 10, 20, 50]), wanted.cpu, freeIndices.splice(0, wanted.gpus), wanted.memory));
    }
    return busyNode(`node-${n}`, allocations, {
      gpus: devices,
      allocatable,
      labels: random() < 0.5 ? { zone: pick(['eu', 'us']) } : {},
      runtimes: random() < 0.8 ? ['docker', 'process'] : ['process'],
      schedulable: random() < 0.9,
      status: 'NOT_READY',
    });
  });
  for (const candidate of nodes) if (candidate.schedulable) Object.assign(candidate, { status: 'READY' });
  const jobs: PendingJob[] = Array.from({ length: integer(maxJobs) }, (_, j) => {
    const gpuCount = pick([0, 0, 0, 1, 2, 4]);
    return job(`job-${j}`, {
      priority: pick([0, 5, 10, 20, 30, 50, 100]),
      runtime: pick(['docker', 'docker', 'process']),
      cpuMillicores: pick([250, 500, 1000, 2000, 4000, 8000]),
      memoryMiB: pick([1, 2, 4, 8]) * GIB,
      gpuCount,
      gpuMemoryMiB: gpuCount > 0 ? pick([0, 16, 40, 80]) * GIB : 0,
      nodeSelector: random() < 0.3 ? { zone: pick(['eu', 'us', 'mars']) } : {},
    });
  });
  const options: Partial<PlacementOptions> = { strategy: pick(['binpack', 'spread'] as const), preemption: random() < 0.7 };
  return { nodes, jobs, options };
}

/** Every rule a result must keep, checked against the inputs alone. */
function expectSound(nodes: PlacementNode[], jobs: PendingJob[], options: Partial<PlacementOptions>, result: PlacementResult): void {
  const gap = options.preemptionPriorityGap ?? 10;
  const jobsById = new Map(jobs.map((pending) => [pending.id, pending]));
  const nodesById = new Map(nodes.map((candidate) => [candidate.id, candidate]));

  // Every job is decided exactly once.
  expect([...result.placements.map((placement) => placement.jobId), ...result.unschedulable.map((entry) => entry.jobId)].sort()).toEqual(
    jobs.map((pending) => pending.id).sort(),
  );

  // Each placement honours the job's constraints.
  for (const placement of result.placements) {
    const placed = jobsById.get(placement.jobId)!;
    const target = nodesById.get(placement.nodeId)!;
    expect(target.schedulable).toBe(true);
    expect(target.runtimes).toContain(placed.runtime);
    for (const [key, value] of Object.entries(placed.nodeSelector)) expect(target.labels[key]).toBe(value);
    expect(placement.gpuIndices).toHaveLength(placed.gpuCount);
    for (const index of placement.gpuIndices) {
      expect(target.gpus.find((device) => device.index === index)?.memoryMiB ?? -1).toBeGreaterThanOrEqual(placed.gpuMemoryMiB);
    }
  }

  // Preemptions: allowed, eligible, each at most once, for a job placed on the same node.
  if (options.preemption === false) expect(result.preemptions).toEqual([]);
  expect(new Set(result.preemptions.map((preemption) => preemption.attemptId)).size).toBe(result.preemptions.length);
  for (const preemption of result.preemptions) {
    const victim = nodesById.get(preemption.nodeId)!.running.find((allocation) => allocation.attemptId === preemption.attemptId);
    expect(victim).toBeDefined();
    expect(victim!.priority).toBeLessThanOrEqual(jobsById.get(preemption.preemptedFor)!.priority - gap);
    expect(result.placements.find((placement) => placement.jobId === preemption.preemptedFor)?.nodeId).toBe(preemption.nodeId);
  }

  // After everything: no node over-committed, no GPU held twice or beyond the node's own.
  const evicted = new Set(result.preemptions.map((preemption) => preemption.attemptId));
  for (const target of nodes) {
    const gone = target.running.filter((allocation) => evicted.has(allocation.attemptId));
    const added = result.placements.filter((placement) => placement.nodeId === target.id);
    const addedJobs = added.map((placement) => jobsById.get(placement.jobId)!);
    const cpu = target.allocated.cpuMillicores - sum(gone.map((a) => a.cpuMillicores)) + sum(addedJobs.map((j) => j.cpuMillicores));
    const memory = target.allocated.memoryMiB - sum(gone.map((a) => a.memoryMiB)) + sum(addedJobs.map((j) => j.memoryMiB));
    expect(cpu).toBeLessThanOrEqual(target.allocatable.cpuMillicores);
    expect(memory).toBeLessThanOrEqual(target.allocatable.memoryMiB);
    const freedGpus = new Set(gone.flatMap((allocation) => allocation.gpuIndices));
    const held = [...target.allocated.gpuIndices.filter((index) => !freedGpus.has(index)), ...added.flatMap((placement) => placement.gpuIndices)];
    expect(new Set(held).size).toBe(held.length);
    for (const index of held) expect(target.gpus.map((device) => device.index)).toContain(index);
  }

  // Without preemption nothing is freed, so a job left out would not fit even in what is left at the end:
  // the search never misses a node with room.
  if (options.preemption === false) {
    for (const entry of result.unschedulable) {
      const left = jobsById.get(entry.jobId)!;
      for (const target of nodes) expect(fitsAtTheEnd(target, left, result, jobsById)).toBe(false);
    }
  }
}

function fitsAtTheEnd(target: PlacementNode, pending: PendingJob, result: PlacementResult, jobsById: Map<string, PendingJob>): boolean {
  const added = result.placements.filter((placement) => placement.nodeId === target.id);
  const cpu = target.allocatable.cpuMillicores - target.allocated.cpuMillicores - sum(added.map((p) => jobsById.get(p.jobId)!.cpuMillicores));
  const memory = target.allocatable.memoryMiB - target.allocated.memoryMiB - sum(added.map((p) => jobsById.get(p.jobId)!.memoryMiB));
  const held = new Set([...target.allocated.gpuIndices, ...added.flatMap((placement) => placement.gpuIndices)]);
  const freeGpus = target.gpus.filter((device) => !held.has(device.index) && device.memoryMiB >= pending.gpuMemoryMiB).length;
  return (
    target.schedulable &&
    target.runtimes.includes(pending.runtime) &&
    Object.entries(pending.nodeSelector).every(([key, value]) => target.labels[key] === value) &&
    cpu >= pending.cpuMillicores &&
    memory >= pending.memoryMiB &&
    freeGpus >= pending.gpuCount
  );
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

describe('placeJobs: random clusters', () => {
  it('never over-commits a node, never gives a GPU twice, and keeps every constraint (500 seeded cases)', () => {
    const random = seededRandom(20260101);
    let [placed, preempted, unschedulable] = [0, 0, 0];
    for (let round = 0; round < 500; round++) {
      const { nodes, jobs, options } = randomCase(random, 12, 40);
      const result = placeJobs(nodes, jobs, options);
      expectSound(nodes, jobs, options, result);
      placed += result.placements.length;
      preempted += result.preemptions.length;
      unschedulable += result.unschedulable.length;
    }
    // The cases exercise every outcome, not just the easy one.
    expect(placed).toBeGreaterThan(1000);
    expect(preempted).toBeGreaterThan(20);
    expect(unschedulable).toBeGreaterThan(1000);
  });

  it('keeps the same rules on clusters larger than the number of nodes scored per job (40 seeded cases)', () => {
    const random = seededRandom(7);
    let placed = 0;
    for (let round = 0; round < 40; round++) {
      const { nodes, jobs, options } = randomCase(random, 120, 400);
      const result = placeJobs(nodes, jobs, options);
      expectSound(nodes, jobs, options, result);
      placed += result.placements.length;
    }
    expect(placed).toBeGreaterThan(2000);
  });
});
