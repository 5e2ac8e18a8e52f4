// A machine that runs jobs: what it has, what is taken, whether it takes new work, and when it last reported; and the
// changes of its status and capacity, which make the nodes stream.
import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export enum NodeHealth {
  READY = 'READY',
  NOT_READY = 'NOT_READY',
  DOWN = 'DOWN',
}

export enum NodeStatus {
  READY = 'READY',
  NOT_READY = 'NOT_READY',
  DRAINING = 'DRAINING',
  CORDONED = 'CORDONED',
  DOWN = 'DOWN',
}
registerEnumType(NodeStatus, {
  name: 'NodeStatus',
  description:
    'READY: takes jobs. NOT_READY: missed its heartbeats; takes no new jobs. DRAINING: takes no new jobs; its jobs finish or move ' +
    'at the deadline. CORDONED: takes no new jobs. DOWN: silent past the grace period; its jobs were moved elsewhere.',
});

@ObjectType({ description: 'One GPU of a node.' })
@Directive('@shareable')
export class Gpu {
  @Field(() => Int)
  index!: number;

  @Field(() => String, { nullable: true })
  model!: string | null;

  @Field(() => Int)
  memoryMiB!: number;
}

@ObjectType({ description: 'A label of a node, which jobs select nodes by.' })
export class Label {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  value!: string;
}

@ObjectType({ description: 'CPU, memory and GPUs.' })
export class NodeResources {
  @Field(() => Int)
  cpuMillicores!: number;

  @Field(() => Int)
  memoryMiB!: number;

  @Field(() => [Gpu])
  gpus!: Gpu[];
}

@ObjectType({ description: 'What the jobs on a node hold now.' })
export class NodeAllocation {
  @Field(() => Int)
  cpuMillicores!: number;

  @Field(() => Int)
  memoryMiB!: number;

  @Field(() => [Int], { description: 'The GPUs in use, by index.' })
  gpuIndices!: number[];
}

@ObjectType({ description: 'A machine that runs jobs, through the Touchline agent on it.' })
@Directive('@key(fields: "id")')
@Entity('node')
@Index('node_name_active', ['name'], { unique: true, where: 'removed_at IS NULL' })
export class Node {
  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Field(() => String)
  @Column({ type: 'varchar', length: 63 })
  name!: string;

  @Column({ type: 'json' })
  labelMap!: Record<string, string>;

  @Field(() => [String], { description: 'The runtimes its agent offers: docker, process, simulated.' })
  @Column({ type: 'json' })
  runtimes!: string[];

  @Field(() => String)
  @Column({ type: 'varchar', length: 50 })
  agentVersion!: string;

  @Column({ type: 'integer' })
  capacityCpu!: number;

  @Column({ type: 'integer' })
  capacityMemory!: number;

  /** What jobs may use: capacity less what the node keeps for itself, or a cap its agent declared. */
  @Column({ type: 'integer' })
  allocatableCpu!: number;

  @Column({ type: 'integer' })
  allocatableMemory!: number;

  @Column({ type: 'json' })
  gpuList!: Gpu[];

  /** Sums of the active attempts on it, kept in step with them in the same transactions. */
  @Column({ type: 'integer' })
  allocatedCpu!: number;

  @Column({ type: 'integer' })
  allocatedMemory!: number;

  @Column({ type: 'json' })
  allocatedGpus!: number[];

  @Column({ type: 'varchar', length: 16 })
  health!: NodeHealth;

  @Field(() => Boolean, { description: 'Takes no new jobs (cordonNode).' })
  @Column({ type: 'boolean' })
  cordoned!: boolean;

  @Field(() => Boolean, { description: 'Takes no new jobs, and moves its jobs at the drain deadline (drainNode).' })
  @Column({ type: 'boolean' })
  draining!: boolean;

  @Field(() => Date, { nullable: true })
  @Column({ type: Date, nullable: true })
  drainDeadline!: Date | null;

  @Field(() => Date)
  @Index('node_heartbeat')
  @Column({ type: Date })
  lastHeartbeatAt!: Date;

  @Field(() => Date)
  @Column({ type: Date })
  registeredAt!: Date;

  @Column({ type: Date, nullable: true })
  removedAt!: Date | null;

  @Column({ type: 'varchar', length: 36, nullable: true })
  joinTokenId!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "In a nodeUpdated event: the event's number in the nodes stream. Pass the last one received as nodeUpdated(after:) " +
      'to resume without missing a change. Null outside subscriptions.',
  })
  sequence?: string | null;

  @Field(() => NodeStatus)
  get status(): NodeStatus {
    if (this.health !== NodeHealth.READY) return this.health === NodeHealth.DOWN ? NodeStatus.DOWN : NodeStatus.NOT_READY;
    if (this.draining) return NodeStatus.DRAINING;
    if (this.cordoned) return NodeStatus.CORDONED;
    return NodeStatus.READY;
  }

  /** Whether new jobs may be placed on it. */
  get schedulable(): boolean {
    return this.status === NodeStatus.READY;
  }

  @Field(() => [Label])
  get labels(): Label[] {
    return Object.entries(this.labelMap)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => ({ key, value }));
  }

  @Field(() => NodeResources, { description: 'What the machine has.' })
  get capacity(): NodeResources {
    return { cpuMillicores: this.capacityCpu, memoryMiB: this.capacityMemory, gpus: this.gpuList };
  }

  @Field(() => NodeResources, { description: 'What jobs may use of it.' })
  get allocatable(): NodeResources {
    return { cpuMillicores: this.allocatableCpu, memoryMiB: this.allocatableMemory, gpus: this.gpuList };
  }

  @Field(() => NodeAllocation, { description: 'What its jobs hold now.' })
  get allocated(): NodeAllocation {
    return { cpuMillicores: this.allocatedCpu, memoryMiB: this.allocatedMemory, gpuIndices: [...this.allocatedGpus].sort((a, b) => a - b) };
  }
}

export enum NodeEventKind {
  /** It enrolled. */
  REGISTERED = 'REGISTERED',
  /** Its health, cordon or drain changed (READY, NOT_READY, DOWN, CORDONED, DRAINING, or a new drain deadline). */
  STATUS_CHANGED = 'STATUS_CHANGED',
  /** Its agent reported other capacity (CPU, memory, GPUs). */
  CAPACITY_CHANGED = 'CAPACITY_CHANGED',
  REMOVED = 'REMOVED',
}

/** What a node event records of the node as the change left it: the columns such a change can move. */
export interface NodeSnapshot {
  health: NodeHealth;
  cordoned: boolean;
  draining: boolean;
  drainDeadline: string | null;
  removedAt: string | null;
  capacityCpu: number;
  capacityMemory: number;
  allocatableCpu: number;
  allocatableMemory: number;
  gpuList: Gpu[];
}

/**
 * A change of a node that its watchers care about, in the `nodes` stream: enrolment, status, capacity, removal.
 * Heartbeats that change nothing of these, and the resources its jobs take, are not recorded.
 */
@Entity('node_event')
@Index('node_event_node', ['nodeId', 'id'])
@Index('node_event_sequence', ['sequence'], { unique: true })
export class NodeEvent {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** The event's number in the `nodes` stream, given at commit (common/events/stream.ts). */
  @Column({ type: 'bigint' })
  sequence!: number;

  @Column({ type: 'varchar', length: 36 })
  nodeId!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: NodeEventKind;

  /** The node as this change left it, for subscribers (they see each status, not only the latest). */
  @Column({ type: 'simple-json' })
  snapshot!: NodeSnapshot;

  @Column({ type: Date })
  at!: Date;
}

@ObjectType({ description: 'A token that lets node agents enroll. The token itself is shown once, at creation.' })
@Entity('join_token')
export class JoinToken {
  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Field(() => String)
  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Field(() => Date)
  @Column({ type: Date })
  expiresAt!: Date;

  @Field(() => Int, { description: 'How many nodes may enroll with it.' })
  @Column({ type: 'integer' })
  maxUses!: number;

  @Field(() => Int)
  @Column({ type: 'integer' })
  uses!: number;

  @Field(() => String)
  @Column({ type: 'varchar', length: 200 })
  createdBy!: string;

  @Field(() => Date)
  @Column({ type: Date })
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  @Column({ type: Date, nullable: true })
  revokedAt!: Date | null;
}
