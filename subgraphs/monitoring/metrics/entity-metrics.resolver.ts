// The scheduler's Node and Job, extended through federation with their latest metrics, so a dashboard gets a node
// and its GPU temperature in one query.
import { Arg, Ctx, Directive, Field, FieldResolver, ID, ObjectType, Resolver, Root } from 'type-graphql';
import type { MonitoringContext } from '../context';
import { LatestMetric } from './metric.types';

@ObjectType('Node')
@Directive('@key(fields: "id")')
export class MonitoredNode {
  @Field(() => ID)
  id!: string;
}

@ObjectType('Job')
@Directive('@key(fields: "id")')
export class MonitoredJob {
  @Field(() => ID)
  id!: string;
}

const only = (metrics: LatestMetric[], names: string[] | null) => (names ? metrics.filter((metric) => names.includes(metric.name)) : metrics);

@Resolver(() => MonitoredNode)
export class NodeMetricsResolver {
  @FieldResolver(() => [LatestMetric], { description: 'The latest sample of each of its series (labelled with this node), by name.' })
  async metrics(
    @Root() node: MonitoredNode,
    @Arg('names', () => [String], { nullable: true, description: 'Only these metrics.' }) names: string[] | null,
    @Ctx() ctx: MonitoringContext,
  ): Promise<LatestMetric[]> {
    return only(await ctx.loaders.latestOfNode.load(node.id), names);
  }
}

@Resolver(() => MonitoredJob)
export class JobMetricsResolver {
  @FieldResolver(() => [LatestMetric], { description: 'The latest sample of each of its series (labelled with this job), by name.' })
  async metrics(
    @Root() job: MonitoredJob,
    @Arg('names', () => [String], { nullable: true, description: 'Only these metrics.' }) names: string[] | null,
    @Ctx() ctx: MonitoringContext,
  ): Promise<LatestMetric[]> {
    return only(await ctx.loaders.latestOfJob.load(job.id), names);
  }
}

/** `__resolveReference` of the extended entities: the key is all this subgraph needs. */
export const entityReferences = {
  Node: (reference: { id: string }) => Object.assign(new MonitoredNode(), { id: reference.id }),
  Job: (reference: { id: string }) => Object.assign(new MonitoredJob(), { id: reference.id }),
};
