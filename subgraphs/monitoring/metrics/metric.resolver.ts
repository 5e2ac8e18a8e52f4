// GraphQL for metrics: people, scripts and jobs report model metrics, node agents report their node's, and anyone
// with the viewer role reads series back. Reports are machine chatter, so they stay out of the audit log.
import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { RequiresRole, toPayload, Unaudited } from '../../../common/graphql/types';
import type { MonitoringContext } from '../context';
import { reportSamples } from './ingestion';
import { LabelMatcherInput, ReportMetricsInput } from './metric.inputs';
import { ReportMetricsPayload } from './metric.payloads';
import { MetricAggregation, MetricSeries } from './metric.types';
import { QUERY_LIMITS, querySeries } from './query';

@Resolver()
export class MetricResolver {
  @Mutation(() => ReportMetricsPayload, {
    description:
      'Stores samples of model metrics (each needs `model` and `version` labels), for example a scoring job\'s Brier score. Bad ' +
      'samples are refused one by one (`rejected`); the others are stored.',
  })
  @Unaudited()
  async reportMetrics(@Arg('input', () => ReportMetricsInput) input: ReportMetricsInput, @Ctx() ctx: MonitoringContext): Promise<ReportMetricsPayload> {
    return toPayload(ReportMetricsPayload, await reportSamples(ctx.em, input.samples, { kind: 'model' }, ctx.settings));
  }

  @Mutation(() => ReportMetricsPayload, {
    description: 'For node agents: stores samples of the node\'s own metrics; each gets the node\'s `node` label.',
  })
  @RequiresRole('node')
  @Unaudited()
  async reportNodeMetrics(@Arg('input', () => ReportMetricsInput) input: ReportMetricsInput, @Ctx() ctx: MonitoringContext): Promise<ReportMetricsPayload> {
    return toPayload(ReportMetricsPayload, await reportSamples(ctx.em, input.samples, { kind: 'node', nodeId: ctx.identity.id }, ctx.settings));
  }

  @Query(() => [MetricSeries], {
    description: `The series of a metric matching every label matcher (at most ${QUERY_LIMITS.series}), each with its samples aggregated per step (at most ${QUERY_LIMITS.pointsPerSeries} points).`,
  })
  metricSeries(
    @Arg('name', () => String) name: string,
    @Arg('labels', () => [LabelMatcherInput], { nullable: true }) labels: LabelMatcherInput[] | null,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('step', () => Int, { nullable: true, description: 'Seconds per point; by default the range over 300.' }) step: number | null,
    @Arg('aggregation', () => MetricAggregation, { defaultValue: MetricAggregation.AVG }) aggregation: MetricAggregation,
    @Ctx() ctx: MonitoringContext,
  ): Promise<MetricSeries[]> {
    return querySeries(ctx.em, { name, matchers: labels ?? [], from, to, step, aggregation });
  }
}
