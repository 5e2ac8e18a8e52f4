// The alert evaluation loop: every interval, on the one instance holding the lease, reads the enabled rules, the
// samples their windows need and the alerts of the previous round, runs the pure evaluator (alerting/evaluate.ts),
// and stores the alerts it returns, the history of their changes and the notifications they are due.
import { randomUUID } from 'node:crypto';
import { In, type EntityManager } from 'typeorm';
import { insertRows, updateRowsBy } from '../../../common/db/bulk-writes';
import type { MonitoringSettings } from '../../../common/config';
import type { Database } from '../../../common/db/database';
import { Lease, LeasedLoop } from '../../../common/db/lease';
import type { Logger } from '../../../common/logger';
import { evaluate } from '../alerting/evaluate';
import type { AlertState, EvaluationResult } from '../alerting/types';
import { MetricsLease } from '../metrics/metric.entity';
import { SampleWindows, type WindowNeed } from './sample-windows';
import { StoredAlert, StoredAlertRule } from './alert.entity';
import { storeBuiltInRules, toAlertRule } from './alert-rule.service';
import { ALERT_STREAM, pruneAlertHistory, recordAlertEvents } from './alert-history';
import { readHead } from '../../../common/events/stream';
import { planNotifications, type NotificationPolicy } from '../notifications/notification-planner';
import { pruneDeliveries } from '../notifications/notification-channel.service';
import type { StoredAlertStatus } from './alert.types';

const LEASE_NAME = 'alert-evaluation';

export interface RoundResult extends EvaluationResult {
  /** Notifications written for the sender. */
  deliveries: number;
}

/**
 * What the evaluating instance keeps from one round to the next: the samples of the rules' windows, and the alerts as
 * the round stored them, valid while the alerts stream shows no change but the round's own (an acknowledgement, or
 * another instance evaluating, makes the next round read them again).
 */
export class EvaluationMemory {
  readonly windows = new SampleWindows();
  alerts: { head: number; stored: Map<string, StoredAlert>; states: AlertState[] } | undefined;
}

/**
 * One round of evaluation as of `now` (epoch milliseconds), in one transaction: the alerts and their history are
 * stored, and the notifications they are due written for the sender. The evaluation loop passes the same `memory`
 * each round; without it, every window and alert is read afresh.
 */
export async function evaluateAlerts(db: Database, policy: NotificationPolicy, now = Date.now(), memory = new EvaluationMemory()): Promise<RoundResult> {
  const kept = memory.alerts;
  memory.alerts = undefined;
  const round = await db.transaction(async (em) => {
    const rules = (await em.find(StoredAlertRule, { where: { enabled: true } })).map(toAlertRule);
    const series = await memory.windows.read(em, windowNeeds(rules), now);
    const head = await readHead(em, ALERT_STREAM.name);
    const remembered = kept?.head === head ? kept : undefined;
    const stored = remembered?.stored ?? new Map((await em.find(StoredAlert)).map((alert) => [alert.fingerprint, alert]));
    const result = evaluate(rules, series, remembered?.states ?? [...stored.values()].map(toAlertState), now);
    const alerts = await storeResult(em, result, stored);
    const changed = new Set(result.transitions.map((transition) => transition.fingerprint));
    const planned = await planNotifications(em, alerts, changed, new Date(now), policy);
    return { result, alerts, head, appended: result.transitions.length + planned.historyEntries, deliveries: planned.deliveries };
  });
  // Kept only if the stream moved by this round's own entries: nothing else changed the alerts meanwhile.
  const headAfter = await readHead(db.manager, ALERT_STREAM.name);
  if (headAfter === round.head + round.appended) {
    memory.alerts = { head: headAfter, stored: new Map(round.alerts.map((alert) => [alert.fingerprint, alert])), states: round.result.alerts };
  }
  return { ...round.result, deliveries: round.deliveries };
}

/** Each metric the rules read, once, over the longest window a rule on it needs. */
function windowNeeds(rules: readonly ReturnType<typeof toAlertRule>[]): Map<string, WindowNeed> {
  const needs = new Map<string, WindowNeed>();
  for (const rule of rules) {
    if (!Number.isFinite(rule.windowMs) || rule.windowMs <= 0) continue;
    const need = needs.get(rule.metric) ?? { windowMs: 0, includeSilent: false };
    needs.set(rule.metric, { windowMs: Math.max(need.windowMs, rule.windowMs), includeSilent: need.includeSilent || rule.absentFires === true });
  }
  return needs;
}

/** The columns evaluation owns; acknowledgements and what receivers were told are written apart. */
const EVALUATED: (keyof StoredAlert & string)[] = [
  'ruleId', 'ruleName', 'severity', 'labels', 'state', 'activeAt', 'firedAt', 'resolvedAt', 'value', 'keepFiringUntil', 'summary', 'runbookUrl',
];

/**
 * Writes the round's alerts (new ones inserted, kept ones updated in their evaluated columns only, so an
 * acknowledgement committed meanwhile stays), deletes those no longer kept, and appends each change of state to the
 * history. An alert that starts over (met again after it resolved) loses its acknowledgement and notification marks.
 * Returns the alerts as stored.
 */
async function storeResult(em: EntityManager, result: EvaluationResult, previous: ReadonlyMap<string, StoredAlert>): Promise<StoredAlert[]> {
  const startedOver = new Set(result.transitions.filter((transition) => transition.from === 'INACTIVE' || transition.from === 'RESOLVED').map((transition) => transition.fingerprint));
  const kept = new Set(result.alerts.map((alert) => alert.fingerprint));
  const gone = [...previous.keys()].filter((fingerprint) => !kept.has(fingerprint));
  for (let offset = 0; offset < gone.length; offset += 500) await em.delete(StoredAlert, { fingerprint: In(gone.slice(offset, offset + 500)) });
  const inserted: StoredAlert[] = [];
  const restarted: StoredAlert[] = [];
  // Kept alerts are updated in the columns that changed (most rounds: only the value), grouped by those columns.
  const changedBy = new Map<string, { columns: (keyof StoredAlert & string)[]; alerts: StoredAlert[] }>();
  const alerts = result.alerts.map((state) => {
    const before = previous.get(state.fingerprint);
    const alert = toStoredAlert(state, before && !startedOver.has(state.fingerprint) ? before : undefined);
    if (!before) inserted.push(alert);
    else if (startedOver.has(state.fingerprint)) restarted.push(alert);
    else {
      const columns = CHANGEABLE.filter((column) => !sameValue(alert[column], before[column]));
      if (columns.length === 0) return alert;
      const key = columns.join();
      const group = changedBy.get(key) ?? { columns, alerts: [] };
      group.alerts.push(alert);
      changedBy.set(key, group);
    }
    return alert;
  });
  await insertRows(em, StoredAlert, inserted);
  for (const { columns, alerts: changed } of changedBy.values()) await updateRowsBy(em, StoredAlert, 'fingerprint', changed, columns);
  await updateRowsBy(em, StoredAlert, 'fingerprint', restarted, [...EVALUATED, ...FOLLOW_UP]);
  const byFingerprint = new Map(alerts.map((alert) => [alert.fingerprint, alert]));
  recordAlertEvents(
    em,
    result.transitions.map((transition) => ({
      // An alert that went back to INACTIVE is no longer kept: its entry shows it as evaluation left it.
      alert: byFingerprint.get(transition.fingerprint) ?? toStoredAlert(transition.alert, previous.get(transition.fingerprint)),
      entry: { kind: 'STATE_CHANGED' as const, at: new Date(transition.at), fromState: transition.from, toState: transition.to },
    })),
  );
  return alerts;
}

/** The evaluated columns that can change while an alert is kept (its rule and labels make its fingerprint). */
const CHANGEABLE = EVALUATED.filter((column) => column !== 'ruleId' && column !== 'labels');

/** The columns that follow up on an alert (who acknowledged it, what receivers were told), cleared when it starts over. */
const FOLLOW_UP: (keyof StoredAlert & string)[] = ['acknowledgedAt', 'acknowledgedBy', 'acknowledgementComment', 'notifiedState', 'notifiedAt'];

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b;
}

/** The alert as evaluation left it, with the follow-up of `carried` (the stored alert it continues), if any. */
function toStoredAlert(alert: AlertState, carried?: StoredAlert): StoredAlert {
  return Object.assign(new StoredAlert(), {
    acknowledgedAt: carried?.acknowledgedAt ?? null,
    acknowledgedBy: carried?.acknowledgedBy ?? null,
    acknowledgementComment: carried?.acknowledgementComment ?? null,
    notifiedState: carried?.notifiedState ?? null,
    notifiedAt: carried?.notifiedAt ?? null,
    fingerprint: alert.fingerprint,
    ruleId: alert.ruleId,
    ruleName: alert.ruleName,
    severity: alert.severity,
    labels: { ...alert.labels },
    state: alert.state as StoredAlertStatus,
    activeAt: new Date(alert.activeAt),
    firedAt: alert.firedAt === null ? null : new Date(alert.firedAt),
    resolvedAt: alert.resolvedAt === null ? null : new Date(alert.resolvedAt),
    value: alert.lastValue,
    keepFiringUntil: alert.keepFiringUntil === null ? null : new Date(alert.keepFiringUntil),
    summary: alert.summary,
    runbookUrl: alert.runbookUrl,
  });
}

function toAlertState(stored: StoredAlert): AlertState {
  return {
    fingerprint: stored.fingerprint,
    ruleId: stored.ruleId,
    ruleName: stored.ruleName,
    severity: stored.severity,
    labels: stored.labels,
    state: stored.state,
    activeAt: stored.activeAt.getTime(),
    firedAt: stored.firedAt?.getTime() ?? null,
    resolvedAt: stored.resolvedAt?.getTime() ?? null,
    lastValue: stored.value,
    keepFiringUntil: stored.keepFiringUntil?.getTime() ?? null,
    summary: stored.summary,
    runbookUrl: stored.runbookUrl,
  };
}

/** How often the history and deliveries past their retention are deleted. */
const PRUNE_INTERVAL_MS = 3_600_000;

/**
 * Stores the built-in rules, then evaluates every interval on the instance holding the lease, waking the sender when
 * a round wrote notifications, and deletes history past its retention once an hour.
 */
export class AlertEvaluation {
  private readonly loop: LeasedLoop;
  private readonly policy: NotificationPolicy;
  private readonly memory = new EvaluationMemory();
  private lastPruned = 0;

  constructor(
    private readonly db: Database,
    private readonly settings: Readonly<MonitoringSettings>,
    private readonly sender: { wake(): void },
    private readonly logger: Logger,
  ) {
    this.policy = { repeatIntervalMs: settings.alertRepeatIntervalSeconds * 1000, externalUrl: settings.publicUrl ?? '' };
    this.loop = new LeasedLoop(
      new Lease(db, MetricsLease, LEASE_NAME, randomUUID()),
      settings.alertEvaluationIntervalSeconds * 1000,
      () => this.round(),
      (error) => logger.error({ err: error }, 'alert evaluation failed; retrying at the next interval'),
    );
  }

  async start(): Promise<void> {
    await this.db.transaction((em) => storeBuiltInRules(em));
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async round(): Promise<void> {
    const result = await evaluateAlerts(this.db, this.policy, Date.now(), this.memory);
    for (const { ruleId, problems } of result.invalidRules) this.logger.warn({ ruleId, problems }, 'alert rule not evaluated: it is not valid');
    for (const transition of result.transitions) {
      this.logger.info({ alert: transition.alert.ruleName, labels: transition.alert.labels, from: transition.from, to: transition.to }, 'alert changed state');
    }
    if (result.deliveries > 0) this.sender.wake();
    if (Date.now() - this.lastPruned >= PRUNE_INTERVAL_MS) {
      this.lastPruned = Date.now();
      const before = new Date(Date.now() - this.settings.alertHistoryDays * 86_400_000);
      const pruned = await this.db.transaction(async (em) => ({ history: await pruneAlertHistory(em, before), deliveries: await pruneDeliveries(em, before) }));
      if (pruned.history + pruned.deliveries > 0) this.logger.info({ ...pruned, before }, 'deleted alert history and notifications past their retention');
    }
  }
}
