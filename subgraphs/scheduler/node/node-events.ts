// The nodes stream: each change of a node that its watchers care about (enrolment, status, capacity, removal), recorded
// in the transaction that makes it, and the node as such an event shows it.
import type { EntityManager } from 'typeorm';
import { newId } from '../../../common/db/ids';
import { appendToStream, type StreamDefinition } from '../../../common/events/stream';
import { Node, NodeEvent, NodeEventKind, type NodeSnapshot } from './node.entity';

/** The `nodes` stream: every change of a node's status or capacity, in commit order. */
export const NODE_STREAM: StreamDefinition<NodeEvent> = { name: 'nodes', entity: NodeEvent };

export function nodeSnapshotOf(node: Node): NodeSnapshot {
  return {
    health: node.health,
    cordoned: node.cordoned,
    draining: node.draining,
    drainDeadline: node.drainDeadline?.toISOString() ?? null,
    removedAt: node.removedAt?.toISOString() ?? null,
    capacityCpu: node.capacityCpu,
    capacityMemory: node.capacityMemory,
    allocatableCpu: node.allocatableCpu,
    allocatableMemory: node.allocatableMemory,
    gpuList: node.gpuList.map((gpu) => ({ index: gpu.index, model: gpu.model, memoryMiB: gpu.memoryMiB })),
  };
}

/**
 * Records what changed from `before` (null: the node just enrolled) to `node` as it is now, and appends it to the
 * nodes stream; nothing when neither its status nor its capacity changed (a plain heartbeat). The event is written,
 * numbered, as the transaction's last statement (common/events/stream.ts).
 */
export function recordNodeChange(em: EntityManager, before: NodeSnapshot | null, node: Node): void {
  const after = nodeSnapshotOf(node);
  const kind = kindOfChange(before, after);
  if (!kind) return;
  appendToStream(em, NODE_STREAM, [Object.assign(new NodeEvent(), { id: newId(), nodeId: node.id, kind, snapshot: after, at: new Date() })]);
}

function kindOfChange(before: NodeSnapshot | null, after: NodeSnapshot): NodeEventKind | undefined {
  if (!before) return NodeEventKind.REGISTERED;
  if (after.removedAt && !before.removedAt) return NodeEventKind.REMOVED;
  const status: (keyof NodeSnapshot)[] = ['health', 'cordoned', 'draining', 'drainDeadline', 'removedAt'];
  if (status.some((key) => before[key] !== after[key])) return NodeEventKind.STATUS_CHANGED;
  const capacity: (keyof NodeSnapshot)[] = ['capacityCpu', 'capacityMemory', 'allocatableCpu', 'allocatableMemory', 'gpuList'];
  if (capacity.some((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]))) return NodeEventKind.CAPACITY_CHANGED;
  return undefined;
}

/** The node as a stream event shows it: its row as it is now, with what the event's change left in place of the rest. */
export function nodeAsOf(node: Node, event: NodeEvent): Node {
  const { snapshot } = event;
  const date = (value: string | null) => (value === null ? null : new Date(value));
  return Object.assign(new Node(), node, {
    health: snapshot.health,
    cordoned: snapshot.cordoned,
    draining: snapshot.draining,
    drainDeadline: date(snapshot.drainDeadline),
    removedAt: date(snapshot.removedAt),
    capacityCpu: snapshot.capacityCpu,
    capacityMemory: snapshot.capacityMemory,
    allocatableCpu: snapshot.allocatableCpu,
    allocatableMemory: snapshot.allocatableMemory,
    gpuList: snapshot.gpuList,
    sequence: String(event.sequence),
  });
}
