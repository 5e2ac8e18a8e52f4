// Subscriptions to nodes: each node enrolling, changing status (READY, NOT_READY, DOWN, cordoned, draining, removed)
// or capacity, as it commits, for cluster dashboards. Each event is the node as that change left it, with its number
// in the nodes stream; a client that reconnects passes the last number it saw as `after` and misses nothing.
import { Arg, Field, InputType, Resolver, Root, Subscription } from 'type-graphql';
import { In, type EntityManager } from 'typeorm';
import type { BoundedQueue } from '../../../common/events/bounded-queue';
import { parseAfter, StreamTail } from '../../../common/events/stream-tail';
import type { Database } from '../../../common/db/database';
import { BadInputError } from '../../../common/graphql/errors';
import type { Logger } from '../../../common/logger';
import type { SchedulerContext } from '../context';
import { NODE_STREAM, nodeAsOf } from './node-events';
import { Node, NodeStatus, type NodeEvent } from './node.entity';

const MAX_NAMES = 100;

@InputType({ description: 'Which node changes to receive; every condition given must hold.' })
export class NodeUpdatesFilter {
  @Field(() => [String], { nullable: true, description: `These nodes only, by name (at most ${MAX_NAMES}).` })
  names?: string[] | null;

  @Field(() => [NodeStatus], { nullable: true, description: 'Changes that leave the node in one of these statuses only.' })
  statuses?: NodeStatus[] | null;
}

/** A node change as subscribers get it: the node as the change left it, with the event's number. */
export type NodeUpdate = Node & { sequence: string };

/** The nodes stream for the subscribers of this scheduler instance. */
export function nodeUpdatesTail(db: Database, logger: Logger, replayWindow: number): StreamTail<NodeEvent, NodeUpdate> {
  return new StreamTail<NodeEvent, NodeUpdate>({
    db,
    stream: NODE_STREAM,
    logger,
    replayWindow,
    load: (events) => loadUpdates(db.manager, events),
    sequenceOf: (update) => Number(update.sequence),
  });
}

async function loadUpdates(em: EntityManager, events: NodeEvent[]): Promise<NodeUpdate[]> {
  const nodes = await em.findBy(Node, { id: In([...new Set(events.map((event) => event.nodeId))]) });
  const byId = new Map(nodes.map((node) => [node.id, node]));
  return events.flatMap((event) => {
    const node = byId.get(event.nodeId);
    return node ? [nodeAsOf(node, event) as NodeUpdate] : [];
  });
}

@Resolver()
export class NodeSubscriptionResolver {
  @Subscription(() => Node, {
    description:
      'Each node enrolling, changing status (READY, NOT_READY, DOWN, CORDONED, DRAINING, removed) or capacity, as it ' +
      'happens: the node as that change left it. Heartbeats and the resources jobs take are not changes here. Give ' +
      '`after` (the `sequence` of the last event received) to first receive what was missed since, then live changes.',
    subscribe: ({ args, context }) => subscribeToNodes(context as SchedulerContext, args as NodeUpdatedArgs),
  })
  nodeUpdated(
    @Root() node: NodeUpdate,
    @Arg('filter', () => NodeUpdatesFilter, { nullable: true }) _filter: NodeUpdatesFilter | null,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this sequence.' }) _after: string | null,
  ): Node {
    return node;
  }
}

interface NodeUpdatedArgs {
  filter?: NodeUpdatesFilter | null;
  after?: string | null;
}

function subscribeToNodes(ctx: SchedulerContext, args: NodeUpdatedArgs): Promise<BoundedQueue<NodeUpdate>> {
  const filter = args.filter ?? {};
  if (filter.names && filter.names.length > MAX_NAMES) throw new BadInputError('filter.names', `at most ${MAX_NAMES} names`);
  const names = filter.names?.length ? new Set(filter.names) : undefined;
  const statuses = filter.statuses?.length ? new Set(filter.statuses) : undefined;
  return ctx.nodeUpdates.subscribe({
    after: parseAfter(args.after),
    accept: (update) => (!names || names.has(update.name)) && (!statuses || statuses.has(update.status)),
    limit: ctx.subscriptionSettings.subscriberBuffer,
  });
}
