// Attempts and the resources they hold: a node's allocation counters change only here, in the same transaction
// as the attempt, with the node's row locked, so they always equal the sum of the node's active attempts.
import type { EntityManager } from 'typeorm';
import { updateRows } from '../../../common/db/bulk-writes';
import { forUpdate } from '../../../common/db/database';
import { Node } from '../node/node.entity';
import { ACTIVE_ATTEMPT_STATES, type AttemptState, JobAttempt } from './job.entity';

type Request = { cpuMillicores: number; memoryMib: number; gpuIndices: readonly number[] };

/** Ends an active attempt with `state` and gives its resources back to its node. */
export async function finishAttempt(
  em: EntityManager,
  attempt: JobAttempt,
  state: AttemptState,
  outcome: { reason?: string | null; exitCode?: number | null },
): Promise<void> {
  if (!ACTIVE_ATTEMPT_STATES.includes(attempt.state)) return;
  attempt.state = state;
  attempt.reason = outcome.reason ?? null;
  attempt.exitCode = outcome.exitCode ?? null;
  attempt.finishedAt = new Date();
  await em.update(JobAttempt, { id: attempt.id }, {
    state,
    reason: attempt.reason,
    exitCode: attempt.exitCode,
    finishedAt: attempt.finishedAt,
  });
  await release(em, attempt);
}

async function release(em: EntityManager, attempt: JobAttempt): Promise<void> {
  const node = await em.findOne(Node, { where: { id: attempt.nodeId }, lock: forUpdate(em) });
  if (!node) return;
  giveBack(node, attempt);
  await em.update(Node, { id: node.id }, {
    allocatedCpu: node.allocatedCpu,
    allocatedMemory: node.allocatedMemory,
    allocatedGpus: node.allocatedGpus,
  });
}

/**
 * Gives an ending attempt's resources back to its node, in memory: the caller holds the node's row lock and writes
 * the counters (saveAllocations) in the transaction that ends the attempt.
 */
export function giveBack(node: Node, attempt: Request): void {
  const held = new Set(attempt.gpuIndices);
  node.allocatedCpu = Math.max(0, node.allocatedCpu - attempt.cpuMillicores);
  node.allocatedMemory = Math.max(0, node.allocatedMemory - attempt.memoryMib);
  node.allocatedGpus = node.allocatedGpus.filter((index) => !held.has(index));
}

/** Whether `node` has room now for a request (used when a placement decided earlier is committed). */
export function hasRoom(node: Node, request: Request): boolean {
  const taken = new Set(node.allocatedGpus);
  const gpus = new Set(node.gpuList.map((gpu) => gpu.index));
  return (
    node.allocatedCpu + request.cpuMillicores <= node.allocatableCpu &&
    node.allocatedMemory + request.memoryMib <= node.allocatableMemory &&
    request.gpuIndices.every((index) => gpus.has(index) && !taken.has(index)) &&
    new Set(request.gpuIndices).size === request.gpuIndices.length
  );
}

/** Takes resources on a node for a new attempt; the caller holds the node's row lock and checked `hasRoom`. */
export async function reserve(em: EntityManager, node: Node, request: Request): Promise<void> {
  take(node, request);
  await em.update(Node, { id: node.id }, {
    allocatedCpu: node.allocatedCpu,
    allocatedMemory: node.allocatedMemory,
    allocatedGpus: node.allocatedGpus,
  });
}

/** `reserve` in memory only, for a commit that places many attempts and then writes each node once (saveAllocations). */
export function take(node: Node, request: Request): void {
  node.allocatedCpu += request.cpuMillicores;
  node.allocatedMemory += request.memoryMib;
  node.allocatedGpus = [...node.allocatedGpus, ...request.gpuIndices];
}

/** Writes the counters of nodes changed in memory by `take` and `giveBack`; the caller holds their row locks. */
export async function saveAllocations(em: EntityManager, nodes: readonly Node[]): Promise<void> {
  await updateRows(em, Node, nodes, ['allocatedCpu', 'allocatedMemory', 'allocatedGpus']);
}
