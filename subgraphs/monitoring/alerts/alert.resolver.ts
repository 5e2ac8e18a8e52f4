// GraphQL for alerting: alert rules (list, create, change, delete), the alerts evaluation keeps, their
// acknowledgement and history.
import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { PageArgs, toConnection } from '../../../common/graphql/connection';
import { toPayload } from '../../../common/graphql/types';
import type { MonitoringContext } from '../context';
import { MetricLabel, toLabels } from '../metrics/metric.types';
import { Silence } from '../silences/silence.entity';
import { AcknowledgeAlertInput } from './alert.inputs';
import { AcknowledgeAlertPayload, AlertHistoryConnection } from './alert.payloads';
import { acknowledgeAlert, alertAsOf, alertHistory } from './alert-history';
import { AlertEvent, StoredAlert } from './alert.entity';
import { CreateAlertRuleInput, DeleteAlertRuleInput, UpdateAlertRuleInput } from './alert-rule.inputs';
import { AlertRuleConnection, CreateAlertRulePayload, DeleteAlertRulePayload, UpdateAlertRulePayload } from './alert-rule.payloads';
import { createAlertRule, deleteAlertRule, listAlertRules, updateAlertRule } from './alert-rule.service';
import { AlertState, type StoredAlertStatus } from './alert.types';

@Resolver()
export class AlertRuleResolver {
  @Query(() => AlertRuleConnection, { description: 'Alert rules, built-in and users\', by name.' })
  async alertRules(@Args(() => PageArgs) page: PageArgs, @Ctx() ctx: MonitoringContext): Promise<AlertRuleConnection> {
    return toConnection(AlertRuleConnection, await listAlertRules(ctx.em, page));
  }

  @Mutation(() => CreateAlertRulePayload, { description: 'Adds an alert rule; it is evaluated from the next round.' })
  async createAlertRule(@Arg('input', () => CreateAlertRuleInput) input: CreateAlertRuleInput, @Ctx() ctx: MonitoringContext): Promise<CreateAlertRulePayload> {
    return toPayload(CreateAlertRulePayload, await createAlertRule(ctx.em, input));
  }

  @Mutation(() => UpdateAlertRulePayload, { description: 'Changes the given fields of an alert rule.' })
  async updateAlertRule(@Arg('input', () => UpdateAlertRuleInput) input: UpdateAlertRuleInput, @Ctx() ctx: MonitoringContext): Promise<UpdateAlertRulePayload> {
    return toPayload(UpdateAlertRulePayload, await updateAlertRule(ctx.em, input));
  }

  @Mutation(() => DeleteAlertRulePayload, { description: 'Deletes a user\'s alert rule; its alerts clear at the next round.' })
  async deleteAlertRule(@Arg('input', () => DeleteAlertRuleInput) input: DeleteAlertRuleInput, @Ctx() ctx: MonitoringContext): Promise<DeleteAlertRulePayload> {
    return toPayload(DeleteAlertRulePayload, await deleteAlertRule(ctx.em, input));
  }
}

@Resolver(() => StoredAlert)
export class AlertResolver {
  @Query(() => [StoredAlert], { description: 'The alerts evaluation keeps (RESOLVED ones for 15 minutes), newest first.' })
  alerts(@Arg('state', () => AlertState, { nullable: true }) state: StoredAlertStatus | null, @Ctx() ctx: MonitoringContext): Promise<StoredAlert[]> {
    return ctx.em.find(StoredAlert, { where: state ? { state } : {}, order: { activeAt: 'DESC', fingerprint: 'ASC' } });
  }

  @Query(() => AlertHistoryConnection, { description: 'An alert\'s history, newest first; kept after the alert itself is gone.' })
  async alertHistory(
    @Arg('fingerprint', () => ID) fingerprint: string,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: MonitoringContext,
  ): Promise<AlertHistoryConnection> {
    return toConnection(AlertHistoryConnection, await alertHistory(ctx.em, fingerprint, page));
  }

  @Mutation(() => AcknowledgeAlertPayload, {
    description:
      'Records that someone is on an alert, with a comment, in its history. An acknowledged FIRING alert is not notified ' +
      'again at each repeat interval; it still notifies when it resolves. It lasts until the alert resolves.',
  })
  async acknowledgeAlert(@Arg('input', () => AcknowledgeAlertInput) input: AcknowledgeAlertInput, @Ctx() ctx: MonitoringContext): Promise<AcknowledgeAlertPayload> {
    return toPayload(AcknowledgeAlertPayload, await acknowledgeAlert(ctx.em, input, ctx.identity.name));
  }

  @FieldResolver(() => [MetricLabel], { description: 'The labels of its group, sorted by key.' })
  labels(@Root() alert: StoredAlert): MetricLabel[] {
    return toLabels(alert.labels);
  }

  @FieldResolver(() => [Silence], { description: 'The active silences holding back its notifications.' })
  async silencedBy(@Root() alert: StoredAlert, @Ctx() ctx: MonitoringContext): Promise<Silence[]> {
    const silences = await ctx.loaders.activeSilences.load('now');
    const ids = new Set(silences.silencing(alert));
    return silences.all.filter((silence) => ids.has(silence.id));
  }

  @FieldResolver(() => AlertHistoryConnection, { description: 'Its history, newest first.' })
  async history(@Root() alert: StoredAlert, @Args(() => PageArgs) page: PageArgs, @Ctx() ctx: MonitoringContext): Promise<AlertHistoryConnection> {
    return toConnection(AlertHistoryConnection, await alertHistory(ctx.em, alert.fingerprint, page));
  }
}

@Resolver(() => AlertEvent)
export class AlertHistoryResolver {
  @FieldResolver(() => StoredAlert, { description: 'The alert as this entry left it.' })
  alert(@Root() event: AlertEvent): StoredAlert {
    return alertAsOf(event);
  }

  @FieldResolver(() => [String], { description: 'NOTIFIED: the channels told, by name.' })
  channels(@Root() event: AlertEvent): string[] {
    return event.kind === 'NOTIFIED' ? (event.targets ?? []) : [];
  }

  @FieldResolver(() => [ID], { description: 'SUPPRESSED: the silences that held the notification back.' })
  silenceIds(@Root() event: AlertEvent): string[] {
    return event.kind === 'SUPPRESSED' ? (event.targets ?? []) : [];
  }
}
