// The body of a webhook notification: Alertmanager's webhook format (version 4), so receivers written for
// Alertmanager (and the tools that read it) take Touchline's notifications as they are.
import type { StoredAlert } from '../alerts/alert.entity';

/** Alertmanager's `max_alerts`: a group larger than this is cut, and `truncatedAlerts` says by how many. */
export const MAX_ALERTS_PER_NOTIFICATION = 100;

/** Alertmanager's "zero" time, which its payloads carry as the `endsAt` of an alert still firing. */
const NOT_ENDED = '0001-01-01T00:00:00Z';

export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

/** The notification to `receiver` of `alerts` (one rule's, all firing or all resolved). */
export function webhookPayload(receiver: string, status: 'firing' | 'resolved', alerts: readonly StoredAlert[], externalUrl: string): WebhookPayload {
  const sent = alerts.slice(0, MAX_ALERTS_PER_NOTIFICATION).map(toWebhookAlert);
  const alertname = alerts[0]?.ruleName ?? '';
  return {
    version: '4',
    groupKey: `{}:{alertname=${JSON.stringify(alertname)}}`,
    truncatedAlerts: alerts.length - sent.length,
    status,
    receiver,
    groupLabels: { alertname },
    commonLabels: common(sent.map((alert) => alert.labels)),
    commonAnnotations: common(sent.map((alert) => alert.annotations)),
    externalURL: externalUrl,
    alerts: sent,
  };
}

function toWebhookAlert(alert: StoredAlert): WebhookAlert {
  const annotations: Record<string, string> = { summary: alert.summary };
  if (alert.runbookUrl) annotations.runbook_url = alert.runbookUrl;
  if (alert.value !== null) annotations.value = String(alert.value);
  return {
    status: alert.state === 'RESOLVED' ? 'resolved' : 'firing',
    labels: { ...alert.labels, alertname: alert.ruleName, severity: alert.severity },
    annotations,
    startsAt: (alert.firedAt ?? alert.activeAt).toISOString(),
    endsAt: alert.resolvedAt?.toISOString() ?? NOT_ENDED,
    generatorURL: '',
    fingerprint: alert.fingerprint,
  };
}

/** The pairs every map holds with the same value. */
function common(maps: readonly Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = maps;
  if (!first) return {};
  return Object.fromEntries(Object.entries(first).filter(([key, value]) => rest.every((map) => map[key] === value)));
}
