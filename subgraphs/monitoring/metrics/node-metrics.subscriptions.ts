// Watching nodes' metrics live: each report a node agent sends is appended to the `node-metrics` stream in the
// transaction that stores it, and `nodeMetricsUpdated` streams it (the node, through federation, and the values it
// reported) to dashboards, resumable with `after` within the replay window. Events past that window are deleted.
import { randomUUID } from 'node:crypto';
import { Arg, Field, ID, ObjectType, Resolver, Root, Subscription } from 'type-graphql';
import { LessThanOrEqual, type EntityManager } from 'typeorm';
import type { BoundedQueue } from '../../../common/events/bounded-queue';
import { appendToStream, oldestReplayable, readHead, type StreamDefinition } from '../../../common/events/stream';
import { parseAfter, StreamTail } from '../../../common/events/stream-tail';
import type { Database } from '../../../common/db/database';
import { BadInputError } from '../../../common/graphql/errors';
import type { Logger } from '../../../common/logger';
import type { MonitoringContext } from '../context';
import { MonitoredNode } from './entity-metrics.resolver';
import { LatestMetric, toLabels } from './metric.types';
import { NodeMetricsEvent, type ReportedSample } from './node-metrics-event.entity';

export const NODE_METRICS_STREAM: StreamDefinition<NodeMetricsEvent> = { name: 'node-metrics', entity: NodeMetricsEvent };

const MAX_LISTED = 100;

/** Appends a node's report (the samples stored) to the stream, in the caller's transaction. */
export function recordNodeReport(em: EntityManager, nodeId: string, samples: readonly ReportedSample[]): void {
  if (samples.length === 0) return;
  appendToStream(em, NODE_METRICS_STREAM, [Object.assign(new NodeMetricsEvent(), { id: randomUUID(), nodeId, at: new Date(), samples: [...samples] })]);
}

/** Deletes the events older than the replay window; returns how many. */
export async function pruneNodeReports(em: EntityManager, replayWindow: number): Promise<number> {
  const oldest = oldestReplayable(await readHead(em, NODE_METRICS_STREAM.name), replayWindow);
  if (oldest === 0) return 0;
  const result = await em.delete(NodeMetricsEvent, { sequence: LessThanOrEqual(oldest) });
  return result.affected ?? 0;
}

@ObjectType('NodeMetricsUpdate', { description: 'One report of a node agent: the samples it stored.' })
export class NodeMetricsUpdate {
  @Field(() => MonitoredNode)
  node!: MonitoredNode;

  @Field(() => Date, { description: 'When the report was stored.' })
  at!: Date;

  @Field(() => [LatestMetric], { description: 'The samples of the report (of the metrics asked for), by name.' })
  metrics!: LatestMetric[];

  @Field(() => String, { description: 'The event\'s number, to resume `after`.' })
  sequence!: string;
}

/** The node metrics stream for the subscribers of this monitoring instance. */
export function nodeMetricsTail(db: Database, logger: Logger, replayWindow: number): StreamTail<NodeMetricsEvent, NodeMetricsUpdate> {
  return new StreamTail<NodeMetricsEvent, NodeMetricsUpdate>({
    db,
    stream: NODE_METRICS_STREAM,
    logger,
    replayWindow,
    load: async (events) => events.map(toUpdate),
    sequenceOf: (update) => Number(update.sequence),
  });
}

function toUpdate(event: NodeMetricsEvent): NodeMetricsUpdate {
  const metrics = event.samples
    .map((sample) => Object.assign(new LatestMetric(), { name: sample.name, labels: toLabels(sample.labels), value: sample.value, at: new Date(sample.at) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return Object.assign(new NodeMetricsUpdate(), {
    node: Object.assign(new MonitoredNode(), { id: event.nodeId }),
    at: event.at,
    metrics,
    sequence: String(event.sequence),
  });
}

@Resolver()
export class NodeMetricsSubscriptionResolver {
  @Subscription(() => NodeMetricsUpdate, {
    description:
      'Each report of the nodes\' agents (every `--metrics-interval`, 10 s by default), as it is stored: the node and the ' +
      'values it reported. Give `after` (the `sequence` of the last event received) to first receive what was missed.',
    subscribe: ({ args, context }) => subscribeToNodeMetrics(context as MonitoringContext, args as NodeMetricsArgs),
  })
  nodeMetricsUpdated(
    @Root() update: NodeMetricsUpdate,
    @Arg('nodes', () => [ID], { nullable: true, description: `These nodes only, by id (at most ${MAX_LISTED}).` }) _nodes: string[] | null,
    @Arg('names', () => [String], { nullable: true, description: 'Only these metrics; a report with none of them is not sent.' }) names: string[] | null,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this sequence.' }) _after: string | null,
  ): NodeMetricsUpdate {
    if (!names?.length) return update;
    return Object.assign(new NodeMetricsUpdate(), update, { metrics: update.metrics.filter((metric) => names.includes(metric.name)) });
  }
}

interface NodeMetricsArgs {
  nodes?: string[] | null;
  names?: string[] | null;
  after?: string | null;
}

function subscribeToNodeMetrics(ctx: MonitoringContext, args: NodeMetricsArgs): Promise<BoundedQueue<NodeMetricsUpdate>> {
  for (const field of ['nodes', 'names'] as const) {
    if ((args[field]?.length ?? 0) > MAX_LISTED) throw new BadInputError(field, `at most ${MAX_LISTED} values`);
  }
  const nodes = args.nodes?.length ? new Set(args.nodes) : undefined;
  const names = args.names?.length ? new Set(args.names) : undefined;
  return ctx.nodeMetricsUpdates.subscribe({
    after: parseAfter(args.after),
    accept: (update) => (!nodes || nodes.has(update.node.id)) && (!names || update.metrics.some((metric) => names.has(metric.name))),
    limit: ctx.subscriptionSettings.subscriberBuffer,
  });
}
