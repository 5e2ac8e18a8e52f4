// GraphQL for node agents: enrolling with a join token, then heartbeats, attempt reports and logs as the node.
// Each needs its agent role; none is recorded in the audit log except registration (they are machine chatter).
import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { RequiresRole, toPayload, Unaudited } from '../../../common/graphql/types';
import type { SchedulerContext } from '../context';
import { AppendJobLogsInput, NodeHeartbeatInput, RegisterNodeInput, ReportAttemptInput } from './agent.inputs';
import { AppendJobLogsPayload, NodeHeartbeatPayload, RegisterNodePayload, ReportAttemptPayload } from './agent.payloads';
import { appendLogs, heartbeat, registerNode, reportAttempt } from './agent.service';

@Resolver()
export class AgentResolver {
  @Mutation(() => RegisterNodePayload, { description: 'For node agents: enrolls a node with a join token.' })
  @RequiresRole('enroll')
  async registerNode(@Arg('input', () => RegisterNodeInput) input: RegisterNodeInput, @Ctx() ctx: SchedulerContext): Promise<RegisterNodePayload> {
    return toPayload(RegisterNodePayload, await registerNode(ctx.em, input, ctx.identity, ctx.secret));
  }

  @Mutation(() => NodeHeartbeatPayload, { description: 'For node agents: reports the node alive, and answers what it must run and stop.' })
  @RequiresRole('node')
  @Unaudited()
  async nodeHeartbeat(@Arg('input', () => NodeHeartbeatInput) input: NodeHeartbeatInput, @Ctx() ctx: SchedulerContext): Promise<NodeHeartbeatPayload> {
    const payload = toPayload(NodeHeartbeatPayload, await heartbeat(ctx.em, input, ctx.identity));
    payload.heartbeatIntervalSeconds = ctx.settings.heartbeatIntervalSeconds;
    return payload;
  }

  @Mutation(() => ReportAttemptPayload, { description: 'For node agents: an attempt started, runs, or ended.' })
  @RequiresRole('node')
  @Unaudited()
  async reportAttempt(@Arg('input', () => ReportAttemptInput) input: ReportAttemptInput, @Ctx() ctx: SchedulerContext): Promise<ReportAttemptPayload> {
    return toPayload(ReportAttemptPayload, await reportAttempt(ctx.em, input, ctx.identity));
  }

  @Mutation(() => AppendJobLogsPayload, { description: 'For node agents: lines a job wrote.' })
  @RequiresRole('node')
  @Unaudited()
  async appendJobLogs(@Arg('input', () => AppendJobLogsInput) input: AppendJobLogsInput, @Ctx() ctx: SchedulerContext): Promise<AppendJobLogsPayload> {
    return toPayload(AppendJobLogsPayload, await appendLogs(ctx.em, input, ctx.identity, ctx.settings.jobLogLines));
  }
}
