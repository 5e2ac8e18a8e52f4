// Placement: which node runs each pending job, and which running jobs to preempt for it when no node has room.
// A pure function of nodes and jobs (no database, no GraphQL, no clock), so it can be read, tested and benchmarked alone.
//
// One call, in order:
//  1. Jobs are taken highest priority first, first come first served within a priority (a stable sort of the queue).
//     A job that fits nowhere is reported and skipped, so it never blocks the jobs behind it (backfill).
//  2. The static filters (schedulable, runtime, label selector) depend only on the node and on the job's runtime and
//     selector, so they run once per distinct runtime + selector in the call: a "node class" shared by its jobs.
//     Within a class, nodes sit in pools by the size of their largest GPU (0 for CPU-only nodes), and a job tries the
//     pool of the least valuable hardware it can use first: CPU-only jobs never strand GPUs while a CPU-only node has
//     room, and a job content with 40 GiB GPUs leaves the 80 GiB ones to the jobs that need them.
//  3. Each pool is a capacity index (a segment tree of the most free CPU, memory and GPUs below each subtree), which
//     finds the next node with room in about O(log n) instead of testing every node. The first CANDIDATE_LIMIT nodes
//     with room are scored (bin-pack: the fullest after placement; spread: the emptiest), as Nomad's limit and
//     Kubernetes' percentageOfNodesToScore do, except that a node with room is always found when one exists.
//  4. A placement takes its CPU, memory and best-fit GPUs from the working state, so later jobs see them taken.
//  5. A job with no room anywhere may evict running allocations at least `preemptionPriorityGap` levels below it;
//     failing that it is unschedulable, with a reason counting why each node cannot take it.
// Nothing is freed during a call except by preemption, so once a job shape fits nowhere, it and every larger shape of
// the same class are known to fit nowhere (until a preemption makes room on the one node it changes): a backlog of jobs
// that do not fit costs O(1) each, and its reason is counted once per shape.
import {
  DEFAULT_PLACEMENT_OPTIONS,
  type GpuDevice,
  type PendingJob,
  type Placement,
  type PlacementNode,
  type PlacementOptions,
  type PlacementResult,
  type Preemption,
  type RunningAllocation,
} from './types';

/**
 * How many nodes with room are scored per job (and how many eviction plans are compared). Enough for a good fit;
 * bounded so that a job costs the same on 50 nodes and on 50,000. Clusters no larger than this are scored in full.
 */
const CANDIDATE_LIMIT = 16;

/** How many "fits nowhere" shapes a node class remembers; past this, further shapes are simply searched again. */
const MEMO_LIMIT = 64;

/**
 * Decides where each pending job runs. Pure: the inputs are not modified; the result lists placements in the order
 * they were decided, the allocations to preempt for them, and the jobs no node can take with the reason why.
 */
export function placeJobs(nodes: PlacementNode[], jobs: PendingJob[], options: Partial<PlacementOptions> = {}): PlacementResult {
  const cluster = new WorkingCluster(nodes, resolveOptions(options));
  const result: PlacementResult = { placements: [], preemptions: [], unschedulable: [] };
  for (const job of queueOrder(jobs)) {
    const placement = cluster.place(job, result.preemptions);
    if (placement) result.placements.push(placement);
    else result.unschedulable.push({ jobId: job.id, reason: cluster.explain(job) });
  }
  return result;
}

function resolveOptions(options: Partial<PlacementOptions>): PlacementOptions {
  // Field by field, so that an explicit `undefined` means "the default" rather than erasing it.
  return {
    strategy: options.strategy ?? DEFAULT_PLACEMENT_OPTIONS.strategy,
    preemption: options.preemption ?? DEFAULT_PLACEMENT_OPTIONS.preemption,
    preemptionPriorityGap: options.preemptionPriorityGap ?? DEFAULT_PLACEMENT_OPTIONS.preemptionPriorityGap,
  };
}

/** Highest priority first; Array.prototype.sort is stable, so the queue's order holds within a priority. */
function queueOrder(jobs: readonly PendingJob[]): PendingJob[] {
  return [...jobs].sort((a, b) => b.priority - a.priority);
}

// ---------------------------------------------------------------------------------------------------------------
// Working state

/** A job's request in the terms the capacity index compares. */
interface Need {
  cpu: number;
  memory: number;
  gpus: number;
  gpuMemory: number;
  /** The smallest GPU tier at least `gpuMemory` large; meaningful only when `gpus` > 0 (tier count when none is). */
  tier: number;
}

/** A node as this call sees it: what is still free after the placements and preemptions decided so far. */
interface NodeState {
  readonly node: PlacementNode;
  /** Memory of its largest GPU in MiB, 0 when it has none: the pool it belongs to. */
  readonly largestGpu: number;
  freeCpu: number;
  freeMemory: number;
  /** Free GPUs, smallest memory first (then by index), so the best fit is the first ones large enough. */
  freeGpus: GpuDevice[];
  /** freeGpusAtLeast[t]: how many free GPUs have at least tiers[t] MiB. */
  readonly freeGpusAtLeast: number[];
  /** Its running allocations not yet preempted in this call. */
  running: readonly RunningAllocation[];
  /** The classes it belongs to, whose "fits nowhere" memos a preemption on it must revisit. */
  readonly classes: NodeClass[];
  /** Where it sits in each capacity index that holds it, to refresh them all when its free capacity changes. */
  readonly slots: { index: CapacityIndex; position: number }[];
}

/** The nodes that pass one runtime + selector's static filters, and what this call has learnt about them. */
interface NodeClass {
  readonly runtime: string;
  readonly selector: Readonly<Record<string, string>>;
  /** Ascending by largest GPU: the order in which jobs try them. */
  readonly pools: CapacityIndex[];
  /** Every node that passes, in input order. */
  readonly members: NodeState[];
  /** The nodes that do not pass, for unschedulable reasons: not schedulable (by status), without the runtime, not matching. */
  readonly notSchedulable: Map<string, number>;
  readonly withoutRuntime: number;
  readonly notMatching: number;
  /** Needs that fit on no member as things stand (each covers every larger need). */
  readonly noRoom: Need[];
  /** Needs that fit on no member even after evicting everything at or below `evictUpTo`. */
  readonly noRoomEvenEvicting: { need: Need; evictUpTo: number }[];
  /** Where the next eviction search starts, so repeated preemptions do not all land on the first nodes. */
  evictionCursor: number;
}

/** The first two static filters, which do not depend on the selector; the rest of the nodes, counted by cause. */
interface RuntimeNodes {
  offering: NodeState[];
  notSchedulable: Map<string, number>;
  withoutRuntime: number;
}

/** One way to make room on a node: the allocations to evict, fewest and lowest-priority first. */
interface EvictionPlan {
  state: NodeState;
  victims: RunningAllocation[];
  priorityTotal: number;
  score: number;
}

class WorkingCluster {
  private readonly states: NodeState[];
  /** Every distinct GPU memory size in the cluster, ascending. */
  private readonly tiers: number[];
  private readonly classes = new Map<string, NodeClass>();
  private readonly byRuntime = new Map<string, RuntimeNodes>();
  private readonly reasons = new Map<string, string>();
  /** Below this no preemption can help: no running allocation has a lower priority. */
  private readonly lowestRunningPriority: number;
  /** The largest node's figures, for hints that a request exceeds every node; computed when first needed. */
  private largest: { cpu: number; memory: number; gpusAtLeastTier: number[] } | undefined;

  constructor(
    nodes: readonly PlacementNode[],
    private readonly options: PlacementOptions,
  ) {
    const sizes = new Set<number>();
    for (const node of nodes) for (const gpu of node.gpus) sizes.add(gpu.memoryMiB);
    this.tiers = [...sizes].sort((a, b) => a - b);
    this.states = nodes.map((node) => newNodeState(node, this.tiers));
    let lowest = Infinity;
    for (const node of nodes) for (const allocation of node.running) lowest = Math.min(lowest, allocation.priority);
    this.lowestRunningPriority = lowest;
  }

  /** Places the job on the best node with room, or by preemption; undefined when neither is possible. */
  place(job: PendingJob, preemptions: Preemption[]): Placement | undefined {
    const need = this.needOf(job);
    if (need.gpus > 0 && need.tier >= this.tiers.length) return undefined; // no GPU anywhere is large enough
    const nodeClass = this.classFor(job);
    const state = this.nodeWithRoom(nodeClass, need);
    if (state) return this.commit(state, job, need);
    return this.options.preemption ? this.placeByPreempting(job, nodeClass, need, preemptions) : undefined;
  }

  /** Why no node can run the job, counted per cause like Kubernetes' "0/5 nodes are available: ...". */
  explain(job: PendingJob): string {
    // Computed once per job shape: a backlog of identical jobs shares one O(nodes) count.
    const key = `${classKey(job)}\u0001${job.cpuMillicores}\u0001${job.memoryMiB}\u0001${job.gpuCount}\u0001${job.gpuMemoryMiB}`;
    let reason = this.reasons.get(key);
    if (reason === undefined) {
      reason = this.describeUnschedulable(job);
      this.reasons.set(key, reason);
    }
    return reason;
  }

  private needOf(job: PendingJob): Need {
    const gpus = job.gpuCount;
    return {
      cpu: job.cpuMillicores,
      memory: job.memoryMiB,
      gpus,
      gpuMemory: job.gpuMemoryMiB,
      tier: gpus > 0 ? firstAtLeast(this.tiers, job.gpuMemoryMiB) : 0,
    };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Finding room

  private nodeWithRoom(nodeClass: NodeClass, need: Need): NodeState | undefined {
    if (nodeClass.noRoom.some((known) => covers(known, need))) return undefined;
    for (const pool of nodeClass.pools) {
      if (need.gpus > 0 && (pool.largestGpu === 0 || pool.largestGpu < need.gpuMemory)) continue;
      const best = this.bestInPool(pool, need);
      if (best) return best;
    }
    remember(nodeClass.noRoom, need, (known) => covers(need, known));
    return undefined;
  }

  /**
   * The best-scoring of the first CANDIDATE_LIMIT nodes with room. Bin-packing always starts from the first node, so
   * nodes fill in order and whole nodes stay free for large jobs; spreading starts where the last search stopped.
   */
  private bestInPool(pool: CapacityIndex, need: Need): NodeState | undefined {
    const start = this.options.strategy === 'spread' ? pool.cursor : 0;
    let best: NodeState | undefined;
    let bestScore = -Infinity;
    let scored = 0;
    let last = -1;
    for (const [from, to] of [[start, pool.size], [0, start]] as const) {
      for (let position = pool.findFirst(need, from, to); position >= 0; position = pool.findFirst(need, position + 1, to)) {
        const state = pool.nodes[position]!;
        const score = this.score(state.node, state.freeCpu, state.freeMemory, state.freeGpus.length, need);
        if (score > bestScore) [best, bestScore] = [state, score];
        last = position;
        if (++scored === CANDIDATE_LIMIT) break;
      }
      if (scored === CANDIDATE_LIMIT) break;
    }
    if (last >= 0) pool.cursor = (last + 1) % pool.size;
    return best;
  }

  /** Higher is better: bin-packing prefers the node left fullest (best fit), spreading the node left emptiest. */
  private score(node: PlacementNode, freeCpu: number, freeMemory: number, freeGpus: number, need: Need): number {
    const load = loadAfter(node, freeCpu, freeMemory, freeGpus, need);
    return this.options.strategy === 'binpack' ? load : -load;
  }

  /** Takes the job's CPU, memory and best-fit GPUs from the node. */
  private commit(state: NodeState, job: PendingJob, need: Need): Placement {
    const gpuIndices = takeBestFitGpus(state, need, this.tiers);
    state.freeCpu -= need.cpu;
    state.freeMemory -= need.memory;
    refreshIndexes(state);
    return { jobId: job.id, nodeId: state.node.id, gpuIndices };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Preemption

  private placeByPreempting(job: PendingJob, nodeClass: NodeClass, need: Need, preemptions: Preemption[]): Placement | undefined {
    const evictUpTo = job.priority - this.options.preemptionPriorityGap;
    if (evictUpTo < this.lowestRunningPriority) return undefined;
    if (nodeClass.noRoomEvenEvicting.some((known) => known.evictUpTo >= evictUpTo && covers(known.need, need))) return undefined;

    const plan = this.bestEvictionPlan(nodeClass, need, evictUpTo);
    if (!plan) {
      remember(nodeClass.noRoomEvenEvicting, { need, evictUpTo }, (known) => known.evictUpTo <= evictUpTo && covers(need, known.need));
      return undefined;
    }
    for (const victim of plan.victims) {
      release(plan.state, victim, this.tiers);
      preemptions.push({ attemptId: victim.attemptId, jobId: victim.jobId, nodeId: plan.state.node.id, preemptedFor: job.id });
    }
    plan.state.running = plan.state.running.filter((allocation) => !plan.victims.includes(allocation));
    const placement = this.commit(plan.state, job, need);
    forgetWhatNowFits(plan.state);
    return placement;
  }

  /**
   * Among the first CANDIDATE_LIMIT nodes where evictions can make room: the fewest evictions, then the lowest total
   * evicted priority, then the least valuable hardware (smallest largest GPU), then the placement score.
   */
  private bestEvictionPlan(nodeClass: NodeClass, need: Need, evictUpTo: number): EvictionPlan | undefined {
    const members = nodeClass.members;
    let best: EvictionPlan | undefined;
    let viable = 0;
    let examined = 0;
    for (; examined < members.length && viable < CANDIDATE_LIMIT; examined++) {
      const state = members[(nodeClass.evictionCursor + examined) % members.length]!;
      const victims = evictionsMakingRoom(state, need, evictUpTo);
      if (!victims) continue;
      viable++;
      const freed = freedBy(state, victims);
      const plan: EvictionPlan = {
        state,
        victims,
        priorityTotal: victims.reduce((sum, victim) => sum + victim.priority, 0),
        score: this.score(state.node, state.freeCpu + freed.cpu, state.freeMemory + freed.memory, state.freeGpus.length + freed.gpus.length, need),
      };
      if (!best || isBetterPlan(plan, best)) best = plan;
    }
    if (members.length > 0) nodeClass.evictionCursor = (nodeClass.evictionCursor + examined) % members.length;
    return best;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Node classes

  private classFor(job: PendingJob): NodeClass {
    const key = classKey(job);
    let nodeClass = this.classes.get(key);
    if (!nodeClass) {
      nodeClass = this.buildClass(job.runtime, job.nodeSelector);
      this.classes.set(key, nodeClass);
    }
    return nodeClass;
  }

  private buildClass(runtime: string, selector: Readonly<Record<string, string>>): NodeClass {
    const { offering, notSchedulable, withoutRuntime } = this.nodesOffering(runtime);
    const members = offering.filter((state) => matchesSelector(state.node.labels, selector));
    const notMatching = offering.length - members.length;
    const largestGpus = [...new Set(members.map((state) => state.largestGpu))].sort((a, b) => a - b);
    const pools = largestGpus.map(
      (largestGpu) => new CapacityIndex(members.filter((state) => state.largestGpu === largestGpu), largestGpu, this.tiers.length),
    );
    const nodeClass: NodeClass = {
      ...{ runtime, selector, pools, members, notSchedulable, withoutRuntime, notMatching },
      ...{ noRoom: [], noRoomEvenEvicting: [], evictionCursor: 0 },
    };
    for (const state of members) state.classes.push(nodeClass);
    return nodeClass;
  }

  /** The schedulable nodes offering a runtime: shared by every class of that runtime, whatever its selector. */
  private nodesOffering(runtime: string): RuntimeNodes {
    let found = this.byRuntime.get(runtime);
    if (!found) {
      found = { offering: [], notSchedulable: new Map(), withoutRuntime: 0 };
      for (const state of this.states) {
        const { node } = state;
        if (!node.schedulable) found.notSchedulable.set(node.status, (found.notSchedulable.get(node.status) ?? 0) + 1);
        else if (!node.runtimes.includes(runtime)) found.withoutRuntime++;
        else found.offering.push(state);
      }
      this.byRuntime.set(runtime, found);
    }
    return found;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Unschedulable reasons

  private describeUnschedulable(job: PendingJob): string {
    if (this.states.length === 0) return 'no nodes have joined';
    const need = this.needOf(job);
    const nodeClass = this.classFor(job);
    const causes: Cause[] = [...nodeClass.notSchedulable].map(([status, count]) => ({ kind: CauseKind.status, count, status }));
    causes.push({ kind: CauseKind.runtime, count: nodeClass.withoutRuntime }, { kind: CauseKind.selector, count: nodeClass.notMatching });
    const shortfalls = new Array<number>(CauseKind.memory + 1).fill(0);
    for (const state of nodeClass.members) {
      const kind = shortfallOf(state, need);
      if (kind !== undefined) shortfalls[kind]!++;
    }
    shortfalls.forEach((count, kind) => causes.push({ kind, count }));
    // Most common first; among equals, the nodes that came closest to fitting (the later check) first.
    const counted = causes
      .filter((cause) => cause.count > 0)
      .sort((a, b) => b.count - a.count || b.kind - a.kind)
      .map((cause) => describeCause(cause, nodeClass, need));
    return `0/${this.states.length} nodes can run it: ${[...counted, ...this.beyondEveryNode(need)].join('; ')}`;
  }

  /** Hints for a request larger than any node has in total, whatever its state: no waiting will make it fit. */
  private beyondEveryNode(need: Need): string[] {
    this.largest ??= {
      cpu: maximum(this.states.map((state) => state.node.allocatable.cpuMillicores)),
      memory: maximum(this.states.map((state) => state.node.allocatable.memoryMiB)),
      gpusAtLeastTier: [...this.tiers, Infinity].map((size) => maximum(this.states.map((state) => gpusAtLeast(state.node.gpus, size)))),
    };
    const { cpu, memory, gpusAtLeastTier } = this.largest;
    const hints: string[] = [];
    if (need.cpu > cpu) hints.push(`no node has ${need.cpu} CPU millicores (the largest has ${cpu})`);
    if (need.memory > memory) hints.push(`no node has ${need.memory} MiB of memory (the largest has ${memory})`);
    const mostGpus = gpusAtLeastTier[need.tier] ?? 0;
    if (need.gpus > mostGpus) {
      const largestGpu = this.tiers[this.tiers.length - 1] ?? 0;
      if (largestGpu === 0) hints.push('no node has any GPU');
      else hints.push(`no node has ${gpuPhrase(need)} (${mostGpus > 0 ? `the most is ${mostGpus}` : `the largest GPU has ${largestGpu} MiB`})`);
    }
    return hints;
  }
}

function newNodeState(node: PlacementNode, tiers: readonly number[]): NodeState {
  const taken = node.allocated.gpuIndices;
  const freeGpus = node.gpus.filter((gpu) => !taken.includes(gpu.index)).sort(bySizeThenIndex);
  const freeGpusAtLeast = new Array<number>(tiers.length).fill(0);
  for (const gpu of freeGpus) adjustTierCounts(freeGpusAtLeast, tiers, gpu.memoryMiB, +1);
  let largestGpu = 0;
  for (const gpu of node.gpus) largestGpu = Math.max(largestGpu, gpu.memoryMiB);
  return {
    node,
    largestGpu,
    freeCpu: node.allocatable.cpuMillicores - node.allocated.cpuMillicores,
    freeMemory: node.allocatable.memoryMiB - node.allocated.memoryMiB,
    freeGpus,
    freeGpusAtLeast,
    running: node.running,
    classes: [],
    slots: [],
  };
}

function refreshIndexes(state: NodeState): void {
  for (const { index, position } of state.slots) index.update(position);
}

// ---------------------------------------------------------------------------------------------------------------
// Capacity index

/**
 * One pool's nodes in a segment tree holding, for each subtree, the most free CPU, the most free memory and, per GPU
 * tier, the most free GPUs at least that large on any one of its nodes. A subtree whose maxima fall short of a need
 * has no node with room and is skipped whole. The maxima may come from different nodes, so a subtree that passes can
 * still hold no fit, but leaves are exact: a search never misses a node with room nor returns one without.
 */
class CapacityIndex {
  /** Where the next spread search starts: past the last node the previous one scored (Kubernetes does the same). */
  cursor = 0;
  private readonly leaves: number;
  private readonly cpu: Float64Array;
  private readonly memory: Float64Array;
  private readonly gpus: Int32Array;

  constructor(
    readonly nodes: readonly NodeState[],
    /** The largest GPU of each of its nodes, in MiB (0: CPU-only nodes). */
    readonly largestGpu: number,
    private readonly tierCount: number,
  ) {
    let leaves = 1;
    while (leaves < nodes.length) leaves *= 2;
    this.leaves = leaves;
    // Empty leaves hold -Infinity, which no need fits.
    this.cpu = new Float64Array(2 * leaves).fill(-Infinity);
    this.memory = new Float64Array(2 * leaves).fill(-Infinity);
    this.gpus = new Int32Array(2 * leaves * tierCount);
    nodes.forEach((state, position) => {
      state.slots.push({ index: this, position });
      this.writeLeaf(position);
    });
    for (let slot = leaves - 1; slot >= 1; slot--) this.pull(slot);
  }

  get size(): number {
    return this.nodes.length;
  }

  /** Re-reads a node's free capacity after a placement or an eviction changed it. */
  update(position: number): void {
    this.writeLeaf(position);
    for (let slot = (this.leaves + position) >> 1; slot >= 1; slot >>= 1) this.pull(slot);
  }

  /** The first position in [from, to) whose node has room for the need, or -1. */
  findFirst(need: Need, from: number, to: number): number {
    return from < to ? this.search(1, 0, this.leaves, need, from, to) : -1;
  }

  private search(slot: number, low: number, high: number, need: Need, from: number, to: number): number {
    if (high <= from || low >= to || !this.mayFit(slot, need)) return -1;
    if (high - low === 1) return low;
    const middle = (low + high) >> 1;
    const left = this.search(2 * slot, low, middle, need, from, to);
    return left >= 0 ? left : this.search(2 * slot + 1, middle, high, need, from, to);
  }

  private mayFit(slot: number, need: Need): boolean {
    return (
      this.cpu[slot]! >= need.cpu &&
      this.memory[slot]! >= need.memory &&
      (need.gpus === 0 || this.gpus[slot * this.tierCount + need.tier]! >= need.gpus)
    );
  }

  private writeLeaf(position: number): void {
    const state = this.nodes[position]!;
    const slot = this.leaves + position;
    this.cpu[slot] = state.freeCpu;
    this.memory[slot] = state.freeMemory;
    for (let tier = 0; tier < this.tierCount; tier++) this.gpus[slot * this.tierCount + tier] = state.freeGpusAtLeast[tier]!;
  }

  private pull(slot: number): void {
    const [left, right] = [2 * slot, 2 * slot + 1];
    this.cpu[slot] = Math.max(this.cpu[left]!, this.cpu[right]!);
    this.memory[slot] = Math.max(this.memory[left]!, this.memory[right]!);
    for (let tier = 0; tier < this.tierCount; tier++) {
      this.gpus[slot * this.tierCount + tier] = Math.max(this.gpus[left * this.tierCount + tier]!, this.gpus[right * this.tierCount + tier]!);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// GPUs

function bySizeThenIndex(a: GpuDevice, b: GpuDevice): number {
  return a.memoryMiB - b.memoryMiB || a.index - b.index;
}

/** The smallest GPUs large enough (best fit), so the large ones stay free for the jobs that need them. */
function takeBestFitGpus(state: NodeState, need: Need, tiers: readonly number[]): number[] {
  if (need.gpus === 0) return [];
  const taken: GpuDevice[] = [];
  const left: GpuDevice[] = [];
  for (const gpu of state.freeGpus) (taken.length < need.gpus && gpu.memoryMiB >= need.gpuMemory ? taken : left).push(gpu);
  state.freeGpus = left;
  for (const gpu of taken) adjustTierCounts(state.freeGpusAtLeast, tiers, gpu.memoryMiB, -1);
  return taken.map((gpu) => gpu.index).sort((a, b) => a - b);
}

function adjustTierCounts(counts: number[], tiers: readonly number[], memoryMiB: number, delta: number): void {
  for (let tier = 0; tier < tiers.length && tiers[tier]! <= memoryMiB; tier++) counts[tier] = counts[tier]! + delta;
}

function gpusAtLeast(gpus: readonly GpuDevice[], memoryMiB: number): number {
  return gpus.filter((gpu) => gpu.memoryMiB >= memoryMiB).length;
}

/** The index of the first value at least `value` in an ascending list (its length when none is). */
function firstAtLeast(sorted: readonly number[], value: number): number {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

// ---------------------------------------------------------------------------------------------------------------
// Scoring

/** The mean of CPU, memory and (on GPU nodes) GPU utilization once the job is on the node. */
function loadAfter(node: PlacementNode, freeCpu: number, freeMemory: number, freeGpus: number, need: Need): number {
  const cpu = share(node.allocatable.cpuMillicores - freeCpu + need.cpu, node.allocatable.cpuMillicores);
  const memory = share(node.allocatable.memoryMiB - freeMemory + need.memory, node.allocatable.memoryMiB);
  if (node.gpus.length === 0) return (cpu + memory) / 2;
  const gpus = share(node.gpus.length - freeGpus + need.gpus, node.gpus.length);
  return (cpu + memory + gpus) / 3;
}

function share(used: number, total: number): number {
  return total > 0 ? used / total : 1;
}

/** A loop rather than Math.max(...values): spreading a list of 100,000 values would overflow the call stack. */
function maximum(values: readonly number[]): number {
  let most = -Infinity;
  for (const value of values) if (value > most) most = value;
  return most;
}

// ---------------------------------------------------------------------------------------------------------------
// Eviction plans

/**
 * The allocations to evict from a node to make room, or undefined when even evicting every eligible one would not:
 * lowest priority first (within a priority, those that free most of what is missing first), stopping as soon as the
 * job fits, then sparing any victim the later ones made unnecessary.
 */
function evictionsMakingRoom(state: NodeState, need: Need, evictUpTo: number): RunningAllocation[] | undefined {
  // Most nodes cannot make room: rule them out from plain sums before building anything.
  let [cpu, memory, eligibleCount] = [0, 0, 0];
  for (const allocation of state.running) {
    if (allocation.priority > evictUpTo) continue;
    cpu += allocation.cpuMillicores;
    memory += allocation.memoryMiB;
    eligibleCount++;
  }
  if (eligibleCount === 0 || state.freeCpu + cpu < need.cpu || state.freeMemory + memory < need.memory) return undefined;
  const eligible = state.running.filter((allocation) => allocation.priority <= evictUpTo);
  if (need.gpus > 0 && !fitsAfterEvicting(state, need, eligible)) return undefined;

  const missing: Need = {
    ...need,
    cpu: Math.max(0, need.cpu - state.freeCpu),
    memory: Math.max(0, need.memory - state.freeMemory),
    gpus: need.gpus > 0 ? Math.max(0, need.gpus - state.freeGpusAtLeast[need.tier]!) : 0,
  };
  const ordered = eligible
    .map((allocation) => ({ allocation, usefulness: usefulness(state, allocation, missing) }))
    .sort((a, b) => a.allocation.priority - b.allocation.priority || b.usefulness - a.usefulness)
    .map(({ allocation }) => allocation);

  let victims: RunningAllocation[] = [];
  for (const allocation of ordered) {
    victims.push(allocation);
    if (fitsAfterEvicting(state, need, victims)) break;
  }
  // The last victim is needed by construction; an earlier one may have become superfluous.
  for (let i = victims.length - 2; i >= 0; i--) {
    const without = victims.filter((_, j) => j !== i);
    if (fitsAfterEvicting(state, need, without)) victims = without;
  }
  return victims;
}

/** How much of what is missing evicting one allocation would free: from 0 to 1 per resource. */
function usefulness(state: NodeState, allocation: RunningAllocation, missing: Need): number {
  const freed = freedBy(state, [allocation]);
  const gpus = freed.gpus.filter((gpu) => gpu.memoryMiB >= missing.gpuMemory).length;
  return part(freed.cpu, missing.cpu) + part(freed.memory, missing.memory) + part(gpus, missing.gpus);
}

function part(freed: number, missing: number): number {
  return missing > 0 ? Math.min(freed, missing) / missing : 0;
}

function fitsAfterEvicting(state: NodeState, need: Need, victims: readonly RunningAllocation[]): boolean {
  const freed = freedBy(state, victims);
  if (state.freeCpu + freed.cpu < need.cpu || state.freeMemory + freed.memory < need.memory) return false;
  if (need.gpus === 0) return true;
  const freedLargeEnough = freed.gpus.filter((gpu) => gpu.memoryMiB >= need.gpuMemory).length;
  return (state.freeGpusAtLeast[need.tier] ?? 0) + freedLargeEnough >= need.gpus;
}

/** What evicting these allocations gives back: their CPU and memory, and those of their GPUs not already free. */
function freedBy(state: NodeState, victims: readonly RunningAllocation[]): { cpu: number; memory: number; gpus: GpuDevice[] } {
  let [cpu, memory] = [0, 0];
  const gpus = new Map<number, GpuDevice>();
  for (const victim of victims) {
    cpu += victim.cpuMillicores;
    memory += victim.memoryMiB;
    for (const index of victim.gpuIndices) {
      const gpu = state.node.gpus.find((device) => device.index === index);
      if (gpu && !state.freeGpus.some((free) => free.index === index)) gpus.set(index, gpu);
    }
  }
  return { cpu, memory, gpus: [...gpus.values()] };
}

function release(state: NodeState, victim: RunningAllocation, tiers: readonly number[]): void {
  const freed = freedBy(state, [victim]);
  state.freeCpu += freed.cpu;
  state.freeMemory += freed.memory;
  state.freeGpus = [...state.freeGpus, ...freed.gpus].sort(bySizeThenIndex);
  for (const gpu of freed.gpus) adjustTierCounts(state.freeGpusAtLeast, tiers, gpu.memoryMiB, +1);
}

function isBetterPlan(plan: EvictionPlan, than: EvictionPlan): boolean {
  return (
    (plan.victims.length - than.victims.length ||
      plan.priorityTotal - than.priorityTotal ||
      plan.state.largestGpu - than.state.largestGpu ||
      than.score - plan.score) < 0
  );
}

// ---------------------------------------------------------------------------------------------------------------
// "Fits nowhere" memory

/** Whether a need at least as large as `known` in every respect (so fitting wherever `need` does not fit either). */
function covers(known: Need, need: Need): boolean {
  return (
    need.cpu >= known.cpu &&
    need.memory >= known.memory &&
    need.gpus >= known.gpus &&
    // A CPU-only need that fits nowhere bounds GPU needs too; GPU needs compare by the size of GPU they accept.
    (known.gpus === 0 || need.tier >= known.tier)
  );
}

/**
 * After a preemption, the one node it changed may now have room (an eviction can free more than the job took): drop
 * the memo entries it fits. Every other node is as it was, so the rest still hold.
 */
function forgetWhatNowFits(state: NodeState): void {
  for (const nodeClass of state.classes) {
    removeWhere(nodeClass.noRoom, (need) => hasRoom(state, need));
    removeWhere(nodeClass.noRoomEvenEvicting, ({ need, evictUpTo }) => evictionsMakingRoom(state, need, evictUpTo) !== undefined);
  }
}

function hasRoom(state: NodeState, need: Need): boolean {
  return (
    state.freeCpu >= need.cpu &&
    state.freeMemory >= need.memory &&
    (need.gpus === 0 || (state.freeGpusAtLeast[need.tier] ?? 0) >= need.gpus)
  );
}

function removeWhere<T>(list: T[], predicate: (item: T) => boolean): void {
  for (let i = list.length - 1; i >= 0; i--) if (predicate(list[i]!)) list.splice(i, 1);
}

/** Adds an entry, dropping those it makes redundant; a full memo just stops learning. */
function remember<T>(memo: T[], entry: T, makesRedundant: (known: T) => boolean): void {
  removeWhere(memo, makesRedundant);
  if (memo.length < MEMO_LIMIT) memo.push(entry);
}

// ---------------------------------------------------------------------------------------------------------------
// Selectors and reasons

function matchesSelector(labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>>): boolean {
  for (const key in selector) if (!Object.hasOwn(labels, key) || labels[key] !== selector[key]) return false;
  return true;
}

function selectorText(selector: Readonly<Record<string, string>>): string {
  return Object.keys(selector)
    .sort()
    .map((key) => `${key}=${selector[key]}`)
    .join(',');
}

/** Jobs with the same key pass the same static filters on every node. */
function classKey(job: PendingJob): string {
  const keys = Object.keys(job.nodeSelector);
  return keys.length === 0 ? job.runtime : `${job.runtime}\u0000${selectorText(job.nodeSelector)}`;
}

/** Why nodes cannot run a job, in the order they are checked: each node counts under the first that applies. */
enum CauseKind {
  status,
  runtime,
  selector,
  noGpus,
  tooFewGpus,
  gpusTaken,
  cpu,
  memory,
}

/** How many nodes one cause applies to (`status` for CauseKind.status: one cause per status). */
interface Cause {
  kind: CauseKind;
  count: number;
  status?: string;
}

/** What a node that passes the static filters lacks for the need, or undefined when it has room. */
function shortfallOf(state: NodeState, need: Need): CauseKind | undefined {
  if (need.gpus > 0) {
    if (state.node.gpus.length === 0) return CauseKind.noGpus;
    if (gpusAtLeast(state.node.gpus, need.gpuMemory) < need.gpus) return CauseKind.tooFewGpus;
    if ((state.freeGpusAtLeast[need.tier] ?? 0) < need.gpus) return CauseKind.gpusTaken;
  }
  if (state.freeCpu < need.cpu) return CauseKind.cpu;
  if (state.freeMemory < need.memory) return CauseKind.memory;
  return undefined;
}

/** "2 lack 2 free GPUs with at least 40960 MiB each", "1 is NOT_READY", "3 do not match the selector gpu=a100". */
function describeCause({ kind, count: n, status }: Cause, nodeClass: NodeClass, need: Need): string {
  const [is, does, has, lacks] = n === 1 ? ['is', 'does', 'has', 'lacks'] : ['are', 'do', 'have', 'lack'];
  switch (kind) {
    case CauseKind.status:
      return `${n} ${is} ${status}`;
    case CauseKind.runtime:
      return `${n} ${does} not offer the runtime ${nodeClass.runtime}`;
    case CauseKind.selector:
      return `${n} ${does} not match the selector ${selectorText(nodeClass.selector)}`;
    case CauseKind.noGpus:
      return `${n} ${has} no GPUs`;
    case CauseKind.tooFewGpus:
      return `${n} ${has} ${need.gpus === 1 ? `no ${gpuPhrase(need).slice('a '.length)}` : `fewer than ${gpuPhrase(need)}`}`;
    case CauseKind.gpusTaken:
      return `${n} ${lacks} ${gpuPhrase(need, 'free')}`;
    case CauseKind.cpu:
      return `${n} ${lacks} ${need.cpu} free CPU millicores`;
    case CauseKind.memory:
      return `${n} ${lacks} ${need.memory} MiB of free memory`;
  }
}

/** "2 free GPUs with at least 40960 MiB each", "a GPU with at least 81920 MiB", "4 GPUs". */
function gpuPhrase(need: Need, adjective?: string): string {
  const noun = need.gpus === 1 ? `${adjective ? `a ${adjective}` : 'a'} GPU` : `${need.gpus} ${adjective ? `${adjective} ` : ''}GPUs`;
  if (need.gpuMemory <= 0) return noun;
  return `${noun} with at least ${need.gpuMemory} MiB${need.gpus > 1 ? ' each' : ''}`;
}
