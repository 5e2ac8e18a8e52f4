// One placement cycle: read the queue and the nodes, let the pure placement module decide, then commit the
// decisions in one transaction that locks the nodes it touches and checks each decision again against their
// current allocation. A decision that no longer holds (another scheduler instance, a finished job, a cancel)
// is dropped and the job waits for the next cycle: capacity is never over-committed, whatever races.
import { In, type EntityManager } from 'typeorm';
import type { Database } from '../../../common/db/database';
import { newId } from '../../../common/db/ids';
import { newFencingToken } from '../agent-api/agent.service';
import { hasRoom, reserve } from '../job/attempts';
import { ACTIVE_ATTEMPT_STATES, AttemptState, Job, JobAttempt } from '../job/job.entity';
import { changeState } from '../job/job.service';
import { JobState, QUEUED_STATES } from '../job/job-state';
import { Node } from '../node/node.entity';
import { requeue } from '../node/node.service';
import { placeJobs } from './placement';
import type { PendingJob, PlacementNode, PlacementOptions, PlacementResult } from './types';

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
}

export interface CycleOptions {
  after?: QueuePosition;
  batchSize?: number;
}

export async function runPlacementCycle(db: Database, options: PlacementOptions, cycle: CycleOptions = {}): Promise<CycleReport> {
  const batchSize = cycle.batchSize ?? 1_000;
  const query = db.manager
    .createQueryBuilder(Job, 'job')
    .where('job.state IN (:...states)', { states: QUEUED_STATES })
    .andWhere('(job.nextAttemptAt IS NULL OR job.nextAttemptAt <= :now)', { now: new Date() });
  if (cycle.after) {
    const { priority, queuedAt, id } = cycle.after;
    query.andWhere(
      '(job.priority < :priority OR (job.priority = :priority AND (job.queuedAt > :queuedAt OR (job.queuedAt = :queuedAt AND job.id > :id))))',
      { priority, queuedAt, id },
    );
  }
  const queue = await query
    .orderBy('job.priority', 'DESC')
    .addOrderBy('job.queuedAt', 'ASC')
    .addOrderBy('job.id', 'ASC')
    .take(batchSize + 1)
    .getMany();
  const jobs = queue.slice(0, batchSize);
  const last = jobs.at(-1);
  const report: CycleReport = {
    considered: jobs.length,
    placed: 0,
    preempted: 0,
    unschedulable: 0,
    conflicts: 0,
    next: queue.length > batchSize && last ? { priority: last.priority, queuedAt: Number(last.queuedAt), id: last.id } : undefined,
  };
  if (jobs.length === 0) return report;

  const nodes = await loadPlacementNodes(db.manager);
  const decisions = placeJobs(nodes, jobs.map(toPendingJob), options);
  await db.transaction((em) => commit(em, decisions, new Map(jobs.map((job) => [job.id, job])), report));
  return report;
}

/** Every enrolled node with what it holds, and the attempts on it that a preemption may evict. */
export async function loadPlacementNodes(em: EntityManager): Promise<PlacementNode[]> {
  const nodes = await em.createQueryBuilder(Node, 'node').where('node.removedAt IS NULL').getMany();
  const running = await em
    .createQueryBuilder(JobAttempt, 'attempt')
    .innerJoin(Job, 'job', 'job.id = attempt.jobId')
    .select(['attempt.id AS "attemptId"', 'attempt.jobId AS "jobId"', 'attempt.nodeId AS "nodeId"', 'job.priority AS "priority"'])
    .addSelect(['attempt.cpuMillicores AS "cpu"', 'attempt.memoryMib AS "memory"', 'attempt.gpuIndices AS "gpus"'])
    .where('attempt.state IN (:...states)', { states: ACTIVE_ATTEMPT_STATES })
    .getRawMany<{ attemptId: string; jobId: string; nodeId: string; priority: number; cpu: number; memory: number; gpus: string | number[] }>();
  const byNode = new Map<string, PlacementNode['running'][number][]>();
  for (const row of running) {
    const list = byNode.get(row.nodeId) ?? [];
    list.push({
      attemptId: row.attemptId,
      jobId: row.jobId,
      priority: Number(row.priority),
      cpuMillicores: Number(row.cpu),
      memoryMiB: Number(row.memory),
      gpuIndices: typeof row.gpus === 'string' ? (JSON.parse(row.gpus) as number[]) : row.gpus,
    });
    byNode.set(row.nodeId, list);
  }
  return nodes.map((node) => ({
    id: node.id,
    name: node.name,
    labels: node.labelMap,
    runtimes: node.runtimes,
    schedulable: node.schedulable,
    status: node.status,
    allocatable: { cpuMillicores: node.allocatableCpu, memoryMiB: node.allocatableMemory },
    gpus: node.gpuList.map((gpu) => ({ index: gpu.index, memoryMiB: gpu.memoryMiB, model: gpu.model ?? undefined })),
    allocated: { cpuMillicores: node.allocatedCpu, memoryMiB: node.allocatedMemory, gpuIndices: node.allocatedGpus },
    running: byNode.get(node.id) ?? [],
  }));
}

function toPendingJob(job: Job): PendingJob {
  return {
    id: job.id,
    priority: job.priority,
    runtime: job.runtime,
    cpuMillicores: job.cpuMillicores,
    memoryMiB: job.memoryMib,
    gpuCount: job.gpuCount,
    gpuMemoryMiB: job.gpuMemoryMib,
    nodeSelector: job.nodeSelectorMap,
  };
}

async function commit(em: EntityManager, decisions: PlacementResult, read: Map<string, Job>, report: CycleReport): Promise<void> {
  // Lock every node this commit touches, in one order, so that two committers never deadlock.
  const nodeIds = [...new Set([...decisions.placements.map((p) => p.nodeId), ...decisions.preemptions.map((p) => p.nodeId)])].sort();
  const nodes = new Map<string, Node>();
  for (const id of nodeIds) {
    const node = await em.findOne(Node, { where: { id }, lock: em.connection.options.type === 'postgres' ? { mode: 'pessimistic_write' } : undefined });
    if (node) nodes.set(id, node);
  }

  for (const preemption of decisions.preemptions) {
    const attempt = await em.findOneBy(JobAttempt, { id: preemption.attemptId, nodeId: preemption.nodeId, state: In([...ACTIVE_ATTEMPT_STATES]) });
    if (!attempt) continue;
    await requeue(em, [attempt], AttemptState.PREEMPTED, JobState.PREEMPTED, `preempted by higher-priority job ${preemption.preemptedFor}`);
    const node = nodes.get(preemption.nodeId);
    if (node) Object.assign(node, await em.findOneByOrFail(Node, { id: node.id }));
    report.preempted += 1;
  }

  const placedIds = decisions.placements.map((placement) => placement.jobId);
  const current = placedIds.length ? await em.findBy(Job, { id: In(placedIds), state: In([...QUEUED_STATES]) }) : [];
  const stillQueued = new Map(current.map((job) => [job.id, job]));
  for (const placement of decisions.placements) {
    const job = stillQueued.get(placement.jobId);
    const node = nodes.get(placement.nodeId);
    const request = { cpuMillicores: job?.cpuMillicores ?? 0, memoryMib: job?.memoryMib ?? 0, gpuIndices: placement.gpuIndices };
    if (!job || !node || !node.schedulable || !hasRoom(node, request)) {
      report.conflicts += 1;
      continue;
    }
    await reserve(em, node, request);
    job.attempt += 1;
    job.nodeId = node.id;
    job.nextAttemptAt = null;
    await em.insert(JobAttempt, {
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
      scheduledAt: new Date(),
      startedAt: null,
      finishedAt: null,
    });
    await em.update(Job, { id: job.id }, { attempt: job.attempt, nodeId: job.nodeId });
    await changeState(em, job, JobState.SCHEDULED, { reason: `placed on ${node.name}`, keepReason: true });
    report.placed += 1;
  }

  for (const { jobId, reason } of decisions.unschedulable) {
    report.unschedulable += 1;
    if (read.get(jobId)?.unschedulableReason === reason) continue;
    await em.update(Job, { id: jobId, state: In([...QUEUED_STATES]) }, { unschedulableReason: reason });
  }
}
