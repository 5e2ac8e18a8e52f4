// Which notifications an evaluation round owes, decided in its transaction: a FIRING alert its receivers have not
// heard of (or not for the repeat interval, unless acknowledged), a RESOLVED alert they heard firing. Silenced alerts
// wait (they are told once the silence ends, if still due); the others are routed to every enabled channel whose
// severities and matchers take them, one delivery per channel and rule and status, written as an outbox row that
// the sender (notification-sender.ts) posts.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { insertRows, updateRowsBy } from '../../../common/db/bulk-writes';
import { compileMatchers } from '../alerting/matchers';
import { StoredAlert } from '../alerts/alert.entity';
import { recordAlertEvents, type AlertHistoryEntry } from '../alerts/alert-history';
import { activeSilences } from '../silences/silence.service';
import { DeliveryStatus, NotificationChannel, NotificationDelivery } from './notification.entity';
import { webhookPayload } from './webhook-payload';

export interface NotificationPolicy {
  /** How often a FIRING alert nobody acknowledged is told again (0: never). */
  repeatIntervalMs: number;
  externalUrl: string;
}

/**
 * Writes the deliveries `alerts` (this round's, as stored) are due and marks them notified. `changed` holds the
 * fingerprints whose state changed this round: a notification held back by a silence is recorded in their history
 * then, not at every round it stays held back. Returns how many deliveries and history entries it wrote.
 */
export async function planNotifications(
  em: EntityManager,
  alerts: readonly StoredAlert[],
  changed: ReadonlySet<string>,
  now: Date,
  policy: NotificationPolicy,
): Promise<{ deliveries: number; historyEntries: number }> {
  const due = alerts.filter((alert) => isDue(alert, now.getTime(), policy.repeatIntervalMs));
  if (due.length === 0) return { deliveries: 0, historyEntries: 0 };
  const silences = await activeSilences(em, now);
  const channels = (await em.findBy(NotificationChannel, { enabled: true })).map(routeOf);
  const groups = new Map<string, { channel: NotificationChannel; status: 'firing' | 'resolved'; alerts: StoredAlert[] }>();
  const notified: StoredAlert[] = [];
  const history: { alert: StoredAlert; entry: AlertHistoryEntry }[] = [];
  for (const alert of due) {
    const silencedBy = silences.silencing(alert);
    if (silencedBy.length > 0) {
      if (changed.has(alert.fingerprint)) history.push({ alert, entry: { kind: 'SUPPRESSED', at: now, targets: silencedBy } });
      continue;
    }
    const status = alert.state === 'RESOLVED' ? 'resolved' : 'firing';
    const told = channels
      .filter((route) => route.takes(alert) && (status === 'firing' || route.channel.sendResolved))
      .map((route) => route.channel);
    for (const channel of told) {
      const key = `${channel.id}\n${alert.ruleId}\n${status}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { channel, status, alerts: [] }));
      group.alerts.push(alert);
    }
    Object.assign(alert, { notifiedState: alert.state, notifiedAt: now });
    notified.push(alert);
    if (told.length > 0) history.push({ alert, entry: { kind: 'NOTIFIED', at: now, targets: told.map((channel) => channel.name) } });
  }
  await updateRowsBy(em, StoredAlert, 'fingerprint', notified, ['notifiedState', 'notifiedAt']);
  const deliveries = [...groups.values()].map(({ channel, status, alerts: grouped }) =>
    Object.assign(new NotificationDelivery(), {
      id: randomUUID(),
      channelId: channel.id,
      status: DeliveryStatus.PENDING,
      alertStatus: status,
      fingerprints: grouped.map((alert) => alert.fingerprint),
      body: JSON.stringify(webhookPayload(channel.name, status, grouped, policy.externalUrl)),
      attemptCount: 0,
      nextAttemptAt: now,
      lastError: null,
      createdAt: now,
      deliveredAt: null,
    }),
  );
  await insertRows(em, NotificationDelivery, deliveries);
  recordAlertEvents(em, history);
  return { deliveries: deliveries.length, historyEntries: history.length };
}

function isDue(alert: StoredAlert, now: number, repeatIntervalMs: number): boolean {
  if (alert.state === 'RESOLVED') return alert.notifiedState === 'FIRING';
  if (alert.state !== 'FIRING') return false;
  if (alert.notifiedState !== 'FIRING' || !alert.notifiedAt) return true;
  return repeatIntervalMs > 0 && !alert.acknowledgedAt && now - alert.notifiedAt.getTime() >= repeatIntervalMs;
}

/** A channel with its routing compiled: severities, then matchers over the labels with `alertname` and `severity`. */
function routeOf(channel: NotificationChannel) {
  const matches = compileMatchers(channel.matchers);
  const severities = channel.severities?.length ? new Set<string>(channel.severities) : undefined;
  return {
    channel,
    takes: (alert: StoredAlert) =>
      (!severities || severities.has(alert.severity)) && matches({ ...alert.labels, alertname: alert.ruleName, severity: alert.severity }),
  };
}
