// One placement cycle: read the queue and the nodes, let the pure placement module decide, then commit the
// decisions in one transaction that locks the nodes it touches and checks each decision again against their
// current allocation. A decision that no longer holds (another scheduler instance, a finished job, a cancel)
// is dropped and the job waits for the next cycle: capacity is never over-committed, whatever races.
// The commit writes in bulk, a few statements per table for the whole batch rather than several per job: on
// PostgreSQL each statement is a round trip, and thousands of them would make the commit the scheduler's limit.
import { performance } from 'node:perf_hooks';
import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import type { Database } from '../../../common/db/database';
import { newId } from '../../../common/db/ids';
import { newFencingToken } from '../agent-api/agent.service';
import { insertRows, updateRows } from '../../../common/db/bulk-writes';
import { giveBack, hasRoom, saveAllocations, take } from '../job/attempts';
import { ACTIVE_ATTEMPT_STATES, AttemptState, Job, JobAttempt } from '../job/job.entity';
import { recordEvents, STATE_COLUMNS, stateChange, type StateChange } from '../job/job.service';
import { JobState, QUEUED_STATES } from '../job/job-state';
import { Node, NodeHealth } from '../node/node.entity';
import { placeJobs } from './placement';
import type { PendingJob, PlacementNode, PlacementOptions, PlacementResult, RunningAllocation } from './types';

/** Jobs per cycle unless the caller says otherwise. */
export const DEFAULT_BATCH_SIZE = 1_000;

/** Ids per `IN (...)` list on SQLite, within its bound parameters. */
const IDS_PER_STATEMENT = 5_000;

/** Where a cycle stopped in the queue (which is in priority, then arrival, order). */
export interface QueuePosition {
  priority: number;
  queuedAt: number;
  id: string;
}

export interface CycleReport {
  considered: number;
  placed: number;
  preempted: number;
  unschedulable: number;
  /** Decisions dropped at commit because the cluster changed meanwhile. */
  conflicts: number;
  /** Where the next cycle should go on from, when the queue holds more than this cycle took. */
  next?: QueuePosition;
  /** Where the time went: reading the queue and the nodes, deciding, committing. */
  timings: { readMs: number; placeMs: number; commitMs: number };
}

export interface CycleOptions {
  after?: QueuePosition;
  batchSize?: number;
  /** The cluster as earlier cycles left it, to reuse when still current (the control loop keeps one); without it, each cycle reads the nodes afresh. */
  snapshot?: ClusterSnapshot;
}

/**
 * The cluster as successive cycles see it: read once, then brought up to date by each commit with what it wrote and
 * what it found on the nodes it locked, so that a cycle need not read 5,000 nodes and every running attempt again.
 * Before each use, one aggregate query checks that nobody else changed the nodes meanwhile (an attempt ending
 * elsewhere, a node joining, leaving, cordoned or reporting new capacity all change its sums); if anybody did, or
 * the snapshot is older than `maxAgeMs`, it is read afresh. Whatever it misses, the commit's check under lock catches.
 */
export class ClusterSnapshot {
  private nodes: PlacementNode[] | undefined;
  private readonly byId = new Map<string, PlacementNode>();
  private evictableUpTo: number | null | undefined = null;
  private readAt = 0;

  constructor(private readonly maxAgeMs = 30_000) {}

  /** The nodes, with the attempts that jobs of priority up to `evictableUpTo` + gap may evict. */
  async read(em: EntityManager, evictableUpTo: number | null): Promise<PlacementNode[]> {
    const fresh =
      this.nodes &&
      covers(this.evictableUpTo, evictableUpTo) &&
      performance.now() - this.readAt <= this.maxAgeMs &&
      sameFingerprint(fingerprintOf(this.nodes), await readFingerprint(em));
    if (!fresh || !this.nodes) {
      this.readAt = performance.now();
      this.nodes = await loadPlacementNodes(em, { evictableUpTo });
      this.evictableUpTo = evictableUpTo;
      this.byId.clear();
      for (const node of this.nodes) this.byId.set(node.id, node);
    }
    return this.nodes;
  }

  /** Takes in what a commit wrote and read under lock. */
  update(committed: Committed): void {
    for (const node of committed.nodes) {
      const known = this.byId.get(node.id);
      if (!known) continue;
      const running = known.running.filter((allocation) => !committed.ended.has(allocation.attemptId));
      running.push(...(committed.started.get(node.id) ?? []));
      Object.assign(known, toPlacementNode(node, running));
    }
  }
}

/** Sums over the enrolled nodes that any change to what placement reads of them moves. */
interface Fingerprint {
  nodes: number;
  schedulable: number;
  allocatableCpu: number;
  allocatableMemory: number;
  gpus: number;
  allocatedCpu: number;
  allocatedMemory: number;
  allocatedGpus: number;
}

function fingerprintOf(nodes: readonly PlacementNode[]): Fingerprint {
  const sums: Fingerprint = { nodes: 0, schedulable: 0, allocatableCpu: 0, allocatableMemory: 0, gpus: 0, allocatedCpu: 0, allocatedMemory: 0, allocatedGpus: 0 };
  for (const node of nodes) {
    sums.nodes += 1;
    if (node.schedulable) sums.schedulable += 1;
    sums.allocatableCpu += node.allocatable.cpuMillicores;
    sums.allocatableMemory += node.allocatable.memoryMiB;
    sums.gpus += node.gpus.length;
    sums.allocatedCpu += node.allocated.cpuMillicores;
    sums.allocatedMemory += node.allocated.memoryMiB;
    sums.allocatedGpus += node.allocated.gpuIndices.length;
  }
  return sums;
}

async function readFingerprint(em: EntityManager): Promise<Fingerprint> {
  const row = await em
    .createQueryBuilder(Node, 'node')
    .select('COUNT(*)', 'nodes')
    .addSelect('SUM(CASE WHEN node.health = :ready AND node.cordoned = :no AND node.draining = :no THEN 1 ELSE 0 END)', 'schedulable')
    .addSelect('SUM(node.allocatableCpu)', 'allocatableCpu')
    .addSelect('SUM(node.allocatableMemory)', 'allocatableMemory')
    .addSelect('SUM(json_array_length(node.gpuList))', 'gpus')
    .addSelect('SUM(node.allocatedCpu)', 'allocatedCpu')
    .addSelect('SUM(node.allocatedMemory)', 'allocatedMemory')
    .addSelect('SUM(json_array_length(node.allocatedGpus))', 'allocatedGpus')
    .where('node.removedAt IS NULL')
    .setParameters({ ready: NodeHealth.READY, no: false })
    .getRawOne<Record<keyof Fingerprint, string | number | null>>();
  // PostgreSQL returns its sums as text (bigint, numeric), and none at all over no rows.
  const sum = (key: keyof Fingerprint) => Number(row?.[key] ?? 0);
  return {
    nodes: sum('nodes'),
    schedulable: sum('schedulable'),
    allocatableCpu: sum('allocatableCpu'),
    allocatableMemory: sum('allocatableMemory'),
    gpus: sum('gpus'),
    allocatedCpu: sum('allocatedCpu'),
    allocatedMemory: sum('allocatedMemory'),
    allocatedGpus: sum('allocatedGpus'),
  };
}

function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return (Object.keys(a) as (keyof Fingerprint)[]).every((key) => a[key] === b[key]);
}

/** Whether allocations read up to `held` include all those up to `wanted` (undefined: all; null: none). */
function covers(held: number | null | undefined, wanted: number | null): boolean {
  return held === undefined || wanted === null || (held !== null && held >= wanted);
}

/** What a commit changed: the nodes it locked (as they now are), the attempts it started per node, those it ended. */
interface Committed {
  nodes: Node[];
  started: Map<string, RunningAllocation[]>;
  ended: Set<string>;
}

/** A queued job as a cycle reads it: what placement needs, and the reason it was last given. */
interface QueuedJob extends PendingJob {
  queuedAt: number;
  unschedulableReason: string | null;
}

export async function runPlacementCycle(db: Database, options: PlacementOptions, cycle: CycleOptions = {}): Promise<CycleReport> {
  const batchSize = cycle.batchSize ?? DEFAULT_BATCH_SIZE;
  const started = performance.now();
  const queue = await readQueue(db.manager, batchSize + 1, cycle.after);
  const jobs = queue.slice(0, batchSize);
  const last = jobs.at(-1);
  const report: CycleReport = {
    considered: jobs.length,
    placed: 0,
    preempted: 0,
    unschedulable: 0,
    conflicts: 0,
    next: queue.length > batchSize && last ? { priority: last.priority, queuedAt: last.queuedAt, id: last.id } : undefined,
    timings: { readMs: 0, placeMs: 0, commitMs: 0 },
  };
  if (jobs.length === 0) {
    report.timings.readMs = performance.now() - started;
    return report;
  }

  // The queue comes highest priority first. Only allocations at least the priority gap below the batch's highest
  // priority can be evicted by any job of it, so the others are not worth reading: the decisions are the same.
  const evictableUpTo = options.preemption ? jobs[0]!.priority - options.preemptionPriorityGap : null;
  const nodes = cycle.snapshot ? await cycle.snapshot.read(db.manager, evictableUpTo) : await loadPlacementNodes(db.manager, { evictableUpTo });
  const read = performance.now();
  report.timings.readMs = read - started;
  const decisions = placeJobs(nodes, jobs, options);
  const decided = performance.now();
  report.timings.placeMs = decided - read;
  const committed = await db.transaction((em) => commit(em, decisions, new Map(jobs.map((job) => [job.id, job])), report));
  cycle.snapshot?.update(committed);
  report.timings.commitMs = performance.now() - decided;
  return report;
}

/** The next `limit` jobs waiting for a node, in queue order, after `after`. */
async function readQueue(em: EntityManager, limit: number, after?: QueuePosition): Promise<QueuedJob[]> {
  const query = em
    .createQueryBuilder(Job, 'job')
    .select(['job.id AS "id"', 'job.priority AS "priority"', 'job.queuedAt AS "queuedAt"', 'job.runtime AS "runtime"'])
    .addSelect(['job.cpuMillicores AS "cpu"', 'job.memoryMib AS "memory"', 'job.gpuCount AS "gpus"', 'job.gpuMemoryMib AS "gpuMemory"'])
    .addSelect(['job.nodeSelectorMap AS "selector"', 'job.unschedulableReason AS "reason"'])
    .where('job.state IN (:...states)', { states: QUEUED_STATES })
    .andWhere('(job.nextAttemptAt IS NULL OR job.nextAttemptAt <= :now)', { now: new Date() });
  if (after) {
    const { priority, queuedAt, id } = after;
    query.andWhere(
      '(job.priority < :priority OR (job.priority = :priority AND (job.queuedAt > :queuedAt OR (job.queuedAt = :queuedAt AND job.id > :id))))',
      { priority, queuedAt, id },
    );
  }
  const rows = await query
    .orderBy('job.priority', 'DESC')
    .addOrderBy('job.queuedAt', 'ASC')
    .addOrderBy('job.id', 'ASC')
    .limit(limit)
    .getRawMany<{
      id: string;
      priority: number;
      queuedAt: number | string;
      runtime: string;
      cpu: number;
      memory: number;
      gpus: number;
      gpuMemory: number;
      selector: string | Record<string, string>;
      reason: string | null;
    }>();
  return rows.map((row) => ({
    id: row.id,
    priority: Number(row.priority),
    queuedAt: Number(row.queuedAt),
    runtime: row.runtime,
    cpuMillicores: Number(row.cpu),
    memoryMiB: Number(row.memory),
    gpuCount: Number(row.gpus),
    gpuMemoryMiB: Number(row.gpuMemory),
    nodeSelector: json(row.selector),
    unschedulableReason: row.reason,
  }));
}

/**
 * Every enrolled node with what it holds, and the attempts on it that a preemption may evict: all of them by default,
 * only those of jobs at or below `evictableUpTo` when given a number, none when given null.
 */
export async function loadPlacementNodes(em: EntityManager, running: { evictableUpTo?: number | null } = {}): Promise<PlacementNode[]> {
  const rows = await em
    .createQueryBuilder(Node, 'node')
    .select(['node.id AS "id"', 'node.name AS "name"', 'node.labelMap AS "labels"', 'node.runtimes AS "runtimes"'])
    .addSelect(['node.health AS "health"', 'node.cordoned AS "cordoned"', 'node.draining AS "draining"', 'node.gpuList AS "gpus"'])
    .addSelect(['node.allocatableCpu AS "allocatableCpu"', 'node.allocatableMemory AS "allocatableMemory"'])
    .addSelect(['node.allocatedCpu AS "allocatedCpu"', 'node.allocatedMemory AS "allocatedMemory"', 'node.allocatedGpus AS "allocatedGpus"'])
    .where('node.removedAt IS NULL')
    .getRawMany<{
      id: string;
      name: string;
      labels: string | Record<string, string>;
      runtimes: string | string[];
      health: Node['health'];
      cordoned: boolean | number;
      draining: boolean | number;
      gpus: string | Node['gpuList'];
      allocatableCpu: number;
      allocatableMemory: number;
      allocatedCpu: number;
      allocatedMemory: number;
      allocatedGpus: string | number[];
    }>();
  const byNode = await loadEvictable(em, running.evictableUpTo);
  return rows.map((row) => {
    // Raw rows, as an entity would be too slow to build 5,000 times a cycle; its getters still say its status.
    const node = Object.assign(new Node(), {
      id: row.id,
      name: row.name,
      labelMap: json(row.labels),
      runtimes: json(row.runtimes),
      health: row.health,
      cordoned: Boolean(row.cordoned),
      draining: Boolean(row.draining),
      gpuList: json(row.gpus),
      allocatableCpu: Number(row.allocatableCpu),
      allocatableMemory: Number(row.allocatableMemory),
      allocatedCpu: Number(row.allocatedCpu),
      allocatedMemory: Number(row.allocatedMemory),
      allocatedGpus: json(row.allocatedGpus),
    });
    return toPlacementNode(node, byNode.get(row.id) ?? []);
  });
}

function toPlacementNode(node: Node, running: RunningAllocation[]): PlacementNode {
  return {
    id: node.id,
    name: node.name,
    labels: node.labelMap,
    runtimes: node.runtimes,
    schedulable: node.schedulable,
    status: node.status,
    allocatable: { cpuMillicores: node.allocatableCpu, memoryMiB: node.allocatableMemory },
    gpus: node.gpuList.map((gpu) => ({ index: gpu.index, memoryMiB: gpu.memoryMiB, model: gpu.model ?? undefined })),
    allocated: { cpuMillicores: node.allocatedCpu, memoryMiB: node.allocatedMemory, gpuIndices: node.allocatedGpus },
    running,
  };
}

async function loadEvictable(em: EntityManager, evictableUpTo: number | null | undefined): Promise<Map<string, RunningAllocation[]>> {
  const byNode = new Map<string, RunningAllocation[]>();
  if (evictableUpTo === null) return byNode;
  const query = em
    .createQueryBuilder(JobAttempt, 'attempt')
    .innerJoin(Job, 'job', 'job.id = attempt.jobId')
    .select(['attempt.id AS "attemptId"', 'attempt.jobId AS "jobId"', 'attempt.nodeId AS "nodeId"', 'job.priority AS "priority"'])
    .addSelect(['attempt.cpuMillicores AS "cpu"', 'attempt.memoryMib AS "memory"', 'attempt.gpuIndices AS "gpus"'])
    .where('attempt.state IN (:...states)', { states: ACTIVE_ATTEMPT_STATES });
  if (evictableUpTo !== undefined) query.andWhere('job.priority <= :evictableUpTo', { evictableUpTo });
  const rows = await query.getRawMany<{ attemptId: string; jobId: string; nodeId: string; priority: number; cpu: number; memory: number; gpus: string | number[] }>();
  for (const row of rows) {
    const list = byNode.get(row.nodeId) ?? [];
    list.push({
      attemptId: row.attemptId,
      jobId: row.jobId,
      priority: Number(row.priority),
      cpuMillicores: Number(row.cpu),
      memoryMiB: Number(row.memory),
      gpuIndices: json(row.gpus),
    });
    byNode.set(row.nodeId, list);
  }
  return byNode;
}

/** A JSON column as read raw: PostgreSQL's driver parses it, SQLite hands back the text. */
function json<T>(value: string | T): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

/**
 * Applies the decisions that still hold, in one transaction: locks the touched nodes (in id order, so that two
 * committers never deadlock), then the attempts to preempt and the jobs involved; checks each decision against what
 * the locked rows hold now; and writes the outcome in bulk. The job rows' state and the node counters are changed
 * exactly as changeState, finishAttempt and reserve would change them one at a time.
 */
async function commit(em: EntityManager, decisions: PlacementResult, read: Map<string, QueuedJob>, report: CycleReport): Promise<Committed> {
  const now = new Date();
  const nodeIds = new Set([...decisions.placements.map((p) => p.nodeId), ...decisions.preemptions.map((p) => p.nodeId)]);
  const nodes = byId(await lockRows(em, Node, 'node', [...nodeIds]));
  const attempts = byId(await lockRows(em, JobAttempt, 'attempt', decisions.preemptions.map((p) => p.attemptId)));
  // The attempts to end: still active, still where the decision saw them.
  const victims: { attempt: JobAttempt; reason: string }[] = [];
  for (const preemption of decisions.preemptions) {
    const attempt = attempts.get(preemption.attemptId);
    if (!attempt || attempt.nodeId !== preemption.nodeId || !ACTIVE_ATTEMPT_STATES.includes(attempt.state)) continue;
    attempts.delete(attempt.id);
    victims.push({ attempt, reason: `preempted by higher-priority job ${preemption.preemptedFor}` });
  }
  const jobIds = [...decisions.placements.map((p) => p.jobId), ...victims.map((v) => v.attempt.jobId)];
  const jobs = byId(await lockRows(em, Job, 'job', jobIds, ['id', 'attempt', 'cpuMillicores', 'memoryMib', ...STATE_COLUMNS]));

  const events: StateChange[] = [];
  const changedNodes = new Set<Node>();
  const committed: Committed = { nodes: [...nodes.values()], started: new Map(), ended: new Set() };
  const preemptedJobs: Job[] = [];
  for (const { attempt, reason } of victims) {
    // As requeue does: the attempt ends PREEMPTED and gives its resources back; its job waits for a node again.
    attempt.state = AttemptState.PREEMPTED;
    attempt.reason = reason;
    attempt.exitCode = null;
    attempt.finishedAt = now;
    committed.ended.add(attempt.id);
    const node = nodes.get(attempt.nodeId);
    if (node) {
      giveBack(node, attempt);
      changedNodes.add(node);
    }
    const job = jobs.get(attempt.jobId);
    if (job) {
      job.nextAttemptAt = now;
      job.nodeId = null;
      events.push(stateChange(job, JobState.PREEMPTED, { reason, node: attempt.nodeId }, now));
      preemptedJobs.push(job);
    }
    report.preempted += 1;
  }

  const placedJobs: Job[] = [];
  const newAttempts: JobAttempt[] = [];
  for (const placement of decisions.placements) {
    const job = jobs.get(placement.jobId);
    const node = nodes.get(placement.nodeId);
    const request = { cpuMillicores: job?.cpuMillicores ?? 0, memoryMib: job?.memoryMib ?? 0, gpuIndices: placement.gpuIndices };
    if (!job || !QUEUED_STATES.includes(job.state) || !node || !node.schedulable || !hasRoom(node, request)) {
      report.conflicts += 1;
      continue;
    }
    take(node, request);
    changedNodes.add(node);
    job.attempt += 1;
    job.nodeId = node.id;
    job.nextAttemptAt = null;
    newAttempts.push(
      Object.assign(new JobAttempt(), {
        id: newId(),
        jobId: job.id,
        number: job.attempt,
        nodeId: node.id,
        token: newFencingToken(),
        state: AttemptState.SCHEDULED,
        gpuIndices: placement.gpuIndices,
        cpuMillicores: job.cpuMillicores,
        memoryMib: job.memoryMib,
        exitCode: null,
        reason: null,
        scheduledAt: now,
        startedAt: null,
        finishedAt: null,
      }),
    );
    events.push(stateChange(job, JobState.SCHEDULED, { reason: `placed on ${node.name}`, keepReason: true }, now));
    placedJobs.push(job);
    const started = committed.started.get(node.id) ?? [];
    started.push({
      attemptId: newAttempts.at(-1)!.id,
      jobId: job.id,
      priority: read.get(job.id)?.priority ?? 0,
      cpuMillicores: job.cpuMillicores,
      memoryMiB: job.memoryMib,
      gpuIndices: placement.gpuIndices,
    });
    committed.started.set(node.id, started);
    report.placed += 1;
  }

  await updateRows(em, JobAttempt, victims.map((v) => v.attempt), ['state', 'reason', 'exitCode', 'finishedAt']);
  await insertRows(em, JobAttempt, newAttempts);
  await updateRows(em, Job, preemptedJobs, STATE_COLUMNS);
  // The jobs are locked and were checked queued; the condition only makes sure that a slip would fail loudly.
  const scheduled = await updateRows(em, Job, placedJobs, ['attempt', ...STATE_COLUMNS], { property: 'state', in: QUEUED_STATES });
  if (scheduled !== placedJobs.length) throw new Error(`placement commit: ${placedJobs.length} jobs to schedule, ${scheduled} still queued`);
  await saveAllocations(em, [...changedNodes]);
  recordEvents(em, events);

  // Reasons that changed, as in a job's own row; a job that left the queue meanwhile keeps what it has.
  const reasons: Job[] = [];
  for (const { jobId, reason } of decisions.unschedulable) {
    report.unschedulable += 1;
    if (read.get(jobId)?.unschedulableReason === reason) continue;
    reasons.push(Object.assign(new Job(), { id: jobId, unschedulableReason: reason }));
  }
  await updateRows(em, Job, reasons, ['unschedulableReason'], { property: 'state', in: QUEUED_STATES });
  return committed;
}

/**
 * The rows with these ids, locked for the rest of the transaction on PostgreSQL (SELECT ... FOR UPDATE, in id order);
 * on SQLite, whose transactions run one at a time, plainly read. `properties` limits the columns read.
 */
async function lockRows<T extends ObjectLiteral & { id: string }>(
  em: EntityManager,
  entity: EntityTarget<T>,
  alias: string,
  ids: readonly string[],
  properties?: readonly string[],
): Promise<T[]> {
  const rows: T[] = [];
  for (const chunk of idChunks(em, [...new Set(ids)].sort())) {
    const query = em
      .createQueryBuilder(entity, alias)
      .where(idIn(em, `${alias}.id`, chunk), { ids: chunk })
      .orderBy(`${alias}.id`, 'ASC');
    if (properties) query.select(properties.map((property) => `${alias}.${property}`));
    if (em.connection.options.type === 'postgres') query.setLock('pessimistic_write');
    rows.push(...(await query.getMany()));
  }
  return rows;
}

/**
 * `column` among the ids of the `ids` parameter: one array parameter on PostgreSQL (`= ANY`), however many ids;
 * a list of parameters on SQLite, whose statements take at most IDS_PER_STATEMENT of them (see idChunks).
 */
function idIn(em: EntityManager, column: string, ids: readonly string[]): string {
  if (ids.length === 0) return '1 = 0';
  return em.connection.options.type === 'postgres' ? `${column} = ANY(:ids)` : `${column} IN (:...ids)`;
}

/** The ids in as many chunks as idIn needs: one on PostgreSQL. */
function idChunks(em: EntityManager, ids: readonly string[]): string[][] {
  if (em.connection.options.type === 'postgres') return ids.length ? [[...ids]] : [];
  const chunks: string[][] = [];
  for (let offset = 0; offset < ids.length; offset += IDS_PER_STATEMENT) chunks.push(ids.slice(offset, offset + IDS_PER_STATEMENT));
  return chunks;
}

function byId<T extends { id: string }>(rows: readonly T[]): Map<string, T> {
  return new Map(rows.map((row) => [row.id, row]));
}
