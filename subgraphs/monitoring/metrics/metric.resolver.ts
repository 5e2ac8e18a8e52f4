// GraphQL for metrics: people, scripts and jobs report model metrics and node agents their node's, through the same
// mutation; anyone with the viewer role reads series back. Reports are machine chatter, so they stay out of the audit
// log.
import { Arg, createParameterDecorator, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { RequiresRole, toPayload, Unaudited } from '../../../common/graphql/types';
import type { MonitoringContext } from '../context';
import { reportSamples, type Reporter } from './ingestion';
import { LabelMatcherInput, ReportMetricsInput } from './metric.inputs';
import { ReportMetricsPayload } from './metric.payloads';
import { MetricAggregation, MetricSeries } from './metric.types';
import { QUERY_LIMITS, querySeries } from './query';

/**
 * The `input` argument as GraphQL coerced it. @Arg would copy every sample and label into an instance of its input
 * class first: thousands of objects per report that nothing needs, since each sample is checked field by field.
 */
function ReportInput() {
  return createParameterDecorator(({ args }) => args.input as ReportMetricsInput, {
    arg: { name: 'input', typeFunc: () => ReportMetricsInput },
  });
}

@Resolver()
export class MetricResolver {
  @Mutation(() => ReportMetricsPayload, {
    description:
      'Stores samples. With a node\'s credential they are the node\'s own metrics: each gets the node\'s `node` label, and one naming ' +
      'another node is refused. Otherwise (the operator role) they are model metrics, each with `model` and `version` labels, for ' +
      'example a scoring job\'s Brier score. Bad samples are refused one by one (`rejected`); the others are stored.',
  })
  @RequiresRole('operator', 'node')
  @Unaudited()
  async reportMetrics(@ReportInput() input: ReportMetricsInput, @Ctx() ctx: MonitoringContext): Promise<ReportMetricsPayload> {
    const reporter: Reporter = ctx.identity.role === 'node' ? { kind: 'node', nodeId: ctx.identity.id } : { kind: 'model' };
    return toPayload(ReportMetricsPayload, await reportSamples(ctx.em, input, reporter, ctx.settings));
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
