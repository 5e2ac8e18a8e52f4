// The placement module's inputs and outputs: nodes with what is free on them, pending jobs, and decisions.
// Pure data: no database, no GraphQL. See placement.ts for the algorithm.

export interface GpuDevice {
  index: number;
  memoryMiB: number;
  model?: string;
}

/** A job running on a node now, which a higher-priority job may preempt. */
export interface RunningAllocation {
  attemptId: string;
  jobId: string;
  priority: number;
  cpuMillicores: number;
  memoryMiB: number;
  gpuIndices: readonly number[];
}

export interface PlacementNode {
  id: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  /** Runtimes its agent offers: `docker`, `process`, `simulated`. */
  runtimes: readonly string[];
  /** READY, and neither cordoned nor draining. Other nodes take no new jobs. */
  schedulable: boolean;
  /** Why it takes no new jobs, when it does not (for unschedulable reasons): `NOT_READY`, `CORDONED`... */
  status: string;
  allocatable: { cpuMillicores: number; memoryMiB: number };
  gpus: readonly GpuDevice[];
  /** What the jobs on it hold now. */
  allocated: { cpuMillicores: number; memoryMiB: number; gpuIndices: readonly number[] };
  running: readonly RunningAllocation[];
}

export interface PendingJob {
  id: string;
  /** Higher runs first; jobs of the same priority run in the order given (first come, first served). */
  priority: number;
  runtime: string;
  cpuMillicores: number;
  memoryMiB: number;
  gpuCount: number;
  /** The least memory each of its GPUs must have. */
  gpuMemoryMiB: number;
  /** Labels a node must carry, each with exactly this value. */
  nodeSelector: Readonly<Record<string, string>>;
}

export interface PlacementOptions {
  /** `binpack` (default) fills nodes before using new ones; `spread` balances load across nodes. */
  strategy: 'binpack' | 'spread';
  /** Whether a job that fits nowhere may evict jobs of much lower priority. */
  preemption: boolean;
  /** How many priority levels lower a job must be to be evicted (Nomad's rule: 10). */
  preemptionPriorityGap: number;
}

export const DEFAULT_PLACEMENT_OPTIONS: PlacementOptions = { strategy: 'binpack', preemption: true, preemptionPriorityGap: 10 };

export interface Placement {
  jobId: string;
  nodeId: string;
  /** The GPUs it gets, by index on the node; empty for CPU-only jobs. */
  gpuIndices: number[];
}

export interface Preemption {
  /** The attempt to stop, and its job, which goes back to the queue as PREEMPTED. */
  attemptId: string;
  jobId: string;
  nodeId: string;
  /** The job it makes room for. */
  preemptedFor: string;
}

export interface Unschedulable {
  jobId: string;
  /** For people: why no node can take it, for example "0/3 nodes can run it: 2 lack 2 free GPUs with at least 40960 MiB each; 1 does not match the selector gpu=a100". */
  reason: string;
}

export interface PlacementResult {
  placements: Placement[];
  preemptions: Preemption[];
  unschedulable: Unschedulable[];
}
