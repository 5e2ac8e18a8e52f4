// The alert evaluation loop: every interval, on the one instance holding the lease, reads the enabled rules, the
// samples their windows need and the alerts of the previous round, runs the pure evaluator (alerting/evaluate.ts),
// and stores the alerts it returns and the history of their changes.
import { randomUUID } from 'node:crypto';
import { In, Not, type EntityManager } from 'typeorm';
import type { MonitoringSettings } from '../../../common/config';
import type { Database } from '../../../common/db/database';
import { Lease, LeasedLoop } from '../../../common/db/lease';
import type { Logger } from '../../../common/logger';
import { evaluate } from '../alerting/evaluate';
import type { AlertState, EvaluationResult, Series } from '../alerting/types';
import { MetricsLease } from '../metrics/metric.entity';
import { rawSeriesInWindow } from '../metrics/query';
import { AlertEvent, StoredAlert, StoredAlertRule } from './alert.entity';
import { storeBuiltInRules, toAlertRule } from './alert-rule.service';
import type { StoredAlertStatus } from './alert.types';

const LEASE_NAME = 'alert-evaluation';

/** One round of evaluation as of `now` (epoch milliseconds), in one transaction. */
export function evaluateAlerts(db: Database, now = Date.now()): Promise<EvaluationResult> {
  return db.transaction(async (em) => {
    const rules = (await em.find(StoredAlertRule, { where: { enabled: true } })).map(toAlertRule);
    const series = await seriesForRules(em, rules, now);
    const previous = (await em.find(StoredAlert)).map(toAlertState);
    const result = evaluate(rules, series, previous, now);
    await storeResult(em, result);
    return result;
  });
}

/** Each metric the rules read, once, over the longest window a rule on it needs. */
async function seriesForRules(em: EntityManager, rules: ReturnType<typeof toAlertRule>[], now: number): Promise<Series[]> {
  const needs = new Map<string, { windowMs: number; includeSilent: boolean }>();
  for (const rule of rules) {
    if (!Number.isFinite(rule.windowMs) || rule.windowMs <= 0) continue;
    const need = needs.get(rule.metric) ?? { windowMs: 0, includeSilent: false };
    needs.set(rule.metric, { windowMs: Math.max(need.windowMs, rule.windowMs), includeSilent: need.includeSilent || rule.absentFires === true });
  }
  const series: Series[] = [];
  for (const [metric, need] of needs) series.push(...(await rawSeriesInWindow(em, metric, now - need.windowMs, now, need.includeSilent)));
  return series;
}

async function storeResult(em: EntityManager, result: EvaluationResult): Promise<void> {
  const kept = result.alerts.map((alert) => alert.fingerprint);
  if (kept.length > 0) await em.delete(StoredAlert, { fingerprint: Not(In(kept)) });
  else await em.createQueryBuilder().delete().from(StoredAlert).execute();
  if (result.alerts.length > 0) await em.save(StoredAlert, result.alerts.map(toStoredAlert), { chunk: 200 });
  if (result.transitions.length > 0) {
    await em.insert(
      AlertEvent,
      result.transitions.map((transition) => ({
        fingerprint: transition.fingerprint,
        ruleId: transition.alert.ruleId,
        labels: { ...transition.alert.labels },
        fromState: transition.from,
        toState: transition.to,
        at: new Date(transition.at),
        value: transition.alert.lastValue,
        notify: transition.notify,
      })),
    );
  }
}

function toStoredAlert(alert: AlertState): StoredAlert {
  return Object.assign(new StoredAlert(), {
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

/** Stores the built-in rules, then evaluates every interval on the instance holding the lease. */
export class AlertEvaluation {
  private readonly loop: LeasedLoop;

  constructor(
    private readonly db: Database,
    settings: Readonly<MonitoringSettings>,
    private readonly logger: Logger,
  ) {
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
    const result = await evaluateAlerts(this.db);
    for (const { ruleId, problems } of result.invalidRules) this.logger.warn({ ruleId, problems }, 'alert rule not evaluated: it is not valid');
    for (const transition of result.transitions) {
      this.logger.info({ alert: transition.alert.ruleName, labels: transition.alert.labels, from: transition.from, to: transition.to }, 'alert changed state');
    }
  }
}
