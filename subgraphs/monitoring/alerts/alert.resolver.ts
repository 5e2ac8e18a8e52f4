// GraphQL for alerting: alert rules (list, create, change, delete) and the alerts evaluation keeps.
import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { PageArgs, toConnection } from '../../../common/graphql/connection';
import { toPayload } from '../../../common/graphql/types';
import type { MonitoringContext } from '../context';
import { MetricLabel, toLabels } from '../metrics/metric.types';
import { StoredAlert } from './alert.entity';
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

  @FieldResolver(() => [MetricLabel], { description: 'The labels of its group, sorted by key.' })
  labels(@Root() alert: StoredAlert): MetricLabel[] {
    return toLabels(alert.labels);
  }
}
