// An alert's history (changes of state, acknowledgements, notifications sent or held back by a silence), kept as
// the `alerts` stream: each entry is appended in the transaction that makes it, numbered at commit, with the alert
// as it left it, so `alertUpdated` can follow it and resume, and the history outlives the alert.
import { randomUUID } from 'node:crypto';
import { LessThan, type EntityManager } from 'typeorm';
import { paginate, type ConnectionShape, type PageArgs } from '../../../common/graphql/connection';
import { reject, succeed, UserErrorCode, userError, type Outcome } from '../../../common/graphql/types';
import { appendToStream, type StreamDefinition } from '../../../common/events/stream';
import { InputCheck } from '../../../common/validation';
import { AlertEvent, StoredAlert, type AlertEventKind, type AlertSnapshot } from './alert.entity';
import type { AcknowledgeAlertInput } from './alert.inputs';
import type { StoredAlertStatus } from './alert.types';

/** The `alerts` stream: every entry of every alert's history, in commit order. */
export const ALERT_STREAM: StreamDefinition<AlertEvent> = { name: 'alerts', entity: AlertEvent };

const COMMENT_LENGTH = 2_000;

export interface AlertHistoryEntry {
  kind: AlertEventKind;
  at: Date;
  fromState?: string;
  toState?: string;
  actor?: string;
  comment?: string;
  targets?: string[];
}

/** Appends entries to alerts' histories (and the stream), each with the alert as it is now. */
export function recordAlertEvents(em: EntityManager, entries: readonly { alert: StoredAlert; entry: AlertHistoryEntry }[]): void {
  appendToStream(
    em,
    ALERT_STREAM,
    entries.map(({ alert, entry }) =>
      Object.assign(new AlertEvent(), {
        id: randomUUID(),
        fingerprint: alert.fingerprint,
        ruleId: alert.ruleId,
        kind: entry.kind,
        fromState: entry.fromState ?? null,
        toState: entry.toState ?? null,
        at: entry.at,
        actor: entry.actor ?? null,
        comment: entry.comment ?? null,
        targets: entry.targets ?? null,
        alert: snapshotOf(alert),
      }),
    ),
  );
}

export function snapshotOf(alert: StoredAlert): AlertSnapshot {
  const iso = (date: Date | null) => date?.toISOString() ?? null;
  return {
    fingerprint: alert.fingerprint,
    ruleId: alert.ruleId,
    ruleName: alert.ruleName,
    severity: alert.severity,
    labels: { ...alert.labels },
    state: alert.state,
    activeAt: alert.activeAt.toISOString(),
    firedAt: iso(alert.firedAt),
    resolvedAt: iso(alert.resolvedAt),
    value: alert.value,
    summary: alert.summary,
    runbookUrl: alert.runbookUrl,
    acknowledgedAt: iso(alert.acknowledgedAt),
    acknowledgedBy: alert.acknowledgedBy,
    acknowledgementComment: alert.acknowledgementComment,
  };
}

/** The alert as a history entry left it (INACTIVE for a pending alert that cleared), with the entry's number. */
export function alertAsOf(event: AlertEvent): StoredAlert {
  const { alert } = event;
  const date = (value: string | null) => (value === null ? null : new Date(value));
  return Object.assign(new StoredAlert(), {
    ...alert,
    state: alert.state as StoredAlertStatus,
    activeAt: new Date(alert.activeAt),
    firedAt: date(alert.firedAt),
    resolvedAt: date(alert.resolvedAt),
    acknowledgedAt: date(alert.acknowledgedAt),
    keepFiringUntil: null,
    notifiedState: null,
    notifiedAt: null,
    sequence: String(event.sequence),
  });
}

/**
 * Records that someone is on it: the alert keeps its state and keeps notifying on changes, but a FIRING alert
 * acknowledged is not notified again at each repeat interval. The acknowledgement lasts until the alert resolves.
 */
export async function acknowledgeAlert(em: EntityManager, input: AcknowledgeAlertInput, actor: string, now = new Date()): Promise<Outcome<{ alert: StoredAlert }>> {
  const check = new InputCheck();
  check.text('comment', input.comment, COMMENT_LENGTH, { required: true });
  if (!check.ok) return reject(...check.errors);
  const alert = await em.findOneBy(StoredAlert, { fingerprint: input.fingerprint });
  if (!alert) return reject(userError('fingerprint', `no alert ${input.fingerprint}: it may have resolved and been cleared`, UserErrorCode.NOT_FOUND));
  if (alert.state === 'RESOLVED') return reject(userError('fingerprint', `alert ${alert.ruleName} has resolved: there is nothing to acknowledge`, UserErrorCode.CONFLICT));
  Object.assign(alert, { acknowledgedAt: now, acknowledgedBy: actor, acknowledgementComment: input.comment });
  await em.update(StoredAlert, { fingerprint: alert.fingerprint }, { acknowledgedAt: now, acknowledgedBy: actor, acknowledgementComment: input.comment });
  recordAlertEvents(em, [{ alert, entry: { kind: 'ACKNOWLEDGED', at: now, actor, comment: input.comment } }]);
  return succeed({ alert });
}

/** An alert's history, newest first (it is kept after the alert itself is gone). */
export function alertHistory(em: EntityManager, fingerprint: string, page: PageArgs): Promise<ConnectionShape<AlertEvent>> {
  const query = em.createQueryBuilder(AlertEvent, 'event').where('event.fingerprint = :fingerprint', { fingerprint });
  return paginate(query, page, [{ column: 'event.sequence', value: (event) => Number(event.sequence), direction: 'DESC' }]);
}

/** Deletes history entries older than `before`; returns how many. */
export async function pruneAlertHistory(em: EntityManager, before: Date): Promise<number> {
  const result = await em.delete(AlertEvent, { at: LessThan(before) });
  return result.affected ?? 0;
}
