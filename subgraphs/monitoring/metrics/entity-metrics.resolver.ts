// The scheduler's Node and Job and the registry's ModelVersion, extended through federation with their latest metrics
// and a short history, so a dashboard gets a node and its GPU temperature, or a version and its Brier score, in one query.
import { Arg, Ctx, Directive, Field, FieldResolver, ID, Int, ObjectType, Resolver, Root } from 'type-graphql';
import { BadInputError } from '../../../common/graphql/errors';
import type { MonitoringContext } from '../context';
import { LatestMetric, MetricSeries } from './metric.types';
import { HISTORY_LIMIT, modelVersionKey } from './query';

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

/** The registry's Model, as far as a version's metrics need it: its name, which model metrics carry as `model`. */
@ObjectType('Model')
@Directive('@key(fields: "id", resolvable: false)')
export class MonitoredModel {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  @Directive('@external')
  name!: string;
}

/** The registry's ModelVersion: its metrics are labelled with its model's name and its version string, not its id. */
@ObjectType('ModelVersion')
@Directive('@key(fields: "id")')
export class MonitoredModelVersion {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  @Directive('@external')
  version!: string;

  @Field(() => MonitoredModel)
  @Directive('@external')
  model!: MonitoredModel;
}

/** What the gateway fetches from the registry before asking for a version's metrics. */
const MODEL_VERSION_LABELS = '@requires(fields: "version model { name }")';
const DEFAULT_HISTORY = 10;

const only = (metrics: LatestMetric[], names: string[] | null) => (names ? metrics.filter((metric) => names.includes(metric.name)) : metrics);

function checkedLast(last: number): number {
  if (!Number.isInteger(last) || last < 1 || last > HISTORY_LIMIT) throw new BadInputError('last', `must be from 1 to ${HISTORY_LIMIT} (got ${last})`);
  return last;
}

function ownerOfVersion(version: MonitoredModelVersion): string {
  // Present whenever the gateway asks: the @requires fields come with the representation.
  if (typeof version.version !== 'string' || typeof version.model?.name !== 'string') {
    throw new Error(`ModelVersion ${version.id} came without its version and model { name } (its @requires fields)`);
  }
  return modelVersionKey(version.model.name, version.version);
}

const NAMES = { nullable: true, description: 'Only these metrics.' } as const;
const NAME = { description: 'The metric.' } as const;
const LAST = { defaultValue: DEFAULT_HISTORY, description: `Samples per series, at most ${HISTORY_LIMIT}.` } as const;
const HISTORY = 'The latest raw samples (oldest first) of each of its series of one metric, by labels; a series whose samples are all past the raw retention has no points.';

@Resolver(() => MonitoredNode)
export class NodeMetricsResolver {
  @FieldResolver(() => [LatestMetric], { description: 'The latest sample of each of its series (labelled with this node), by name.' })
  async metrics(
    @Root() node: MonitoredNode,
    @Arg('names', () => [String], NAMES) names: string[] | null,
    @Ctx() ctx: MonitoringContext,
  ): Promise<LatestMetric[]> {
    return only(await ctx.loaders.latestOfNode.load(node.id), names);
  }

  @FieldResolver(() => [MetricSeries], { description: HISTORY })
  metricHistory(
    @Root() node: MonitoredNode,
    @Arg('name', () => String, NAME) name: string,
    @Arg('last', () => Int, LAST) last: number,
    @Ctx() ctx: MonitoringContext,
  ): Promise<MetricSeries[]> {
    return ctx.loaders.historyOfNode.load({ owner: node.id, name, last: checkedLast(last) });
  }
}

@Resolver(() => MonitoredJob)
export class JobMetricsResolver {
  @FieldResolver(() => [LatestMetric], { description: 'The latest sample of each of its series (labelled with this job), by name.' })
  async metrics(
    @Root() job: MonitoredJob,
    @Arg('names', () => [String], NAMES) names: string[] | null,
    @Ctx() ctx: MonitoringContext,
  ): Promise<LatestMetric[]> {
    return only(await ctx.loaders.latestOfJob.load(job.id), names);
  }

  @FieldResolver(() => [MetricSeries], { description: HISTORY })
  metricHistory(
    @Root() job: MonitoredJob,
    @Arg('name', () => String, NAME) name: string,
    @Arg('last', () => Int, LAST) last: number,
    @Ctx() ctx: MonitoringContext,
  ): Promise<MetricSeries[]> {
    return ctx.loaders.historyOfJob.load({ owner: job.id, name, last: checkedLast(last) });
  }
}

@Resolver(() => MonitoredModelVersion)
export class ModelVersionMetricsResolver {
  @FieldResolver(() => [LatestMetric], {
    description: 'The latest sample of each of its series (labelled with its model\'s name as `model` and this `version`), by name.',
  })
  @Directive(MODEL_VERSION_LABELS)
  async metrics(
    @Root() version: MonitoredModelVersion,
    @Arg('names', () => [String], NAMES) names: string[] | null,
    @Ctx() ctx: MonitoringContext,
  ): Promise<LatestMetric[]> {
    return only(await ctx.loaders.latestOfModelVersion.load(ownerOfVersion(version)), names);
  }

  @FieldResolver(() => [MetricSeries], { description: HISTORY })
  @Directive(MODEL_VERSION_LABELS)
  metricHistory(
    @Root() version: MonitoredModelVersion,
    @Arg('name', () => String, NAME) name: string,
    @Arg('last', () => Int, LAST) last: number,
    @Ctx() ctx: MonitoringContext,
  ): Promise<MetricSeries[]> {
    return ctx.loaders.historyOfModelVersion.load({ owner: ownerOfVersion(version), name, last: checkedLast(last) });
  }
}

/** `__resolveReference` of the extended entities: the key (and a version's @requires fields) is all this subgraph needs. */
export const entityReferences = {
  Node: (reference: { id: string }) => Object.assign(new MonitoredNode(), { id: reference.id }),
  Job: (reference: { id: string }) => Object.assign(new MonitoredJob(), { id: reference.id }),
  ModelVersion: (reference: { id: string; version?: string; model?: { name?: string } }) =>
    Object.assign(new MonitoredModelVersion(), { id: reference.id, version: reference.version, model: Object.assign(new MonitoredModel(), reference.model) }),
};
