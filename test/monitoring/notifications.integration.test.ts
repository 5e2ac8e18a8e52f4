// Alert notifications through the gateway, to webhook receivers the test runs on loopback: a firing and a resolved
// notification in Alertmanager's format with a valid signature; routing by severity and labels; a failing receiver
// retried with backoff and every attempt recorded; a silence holding a notification back while the alert is still
// kept; acknowledgement and history; `alertUpdated` over WebSocket; and bad input refused field by field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { verifyWebhook } from '../../subgraphs/monitoring/notifications/webhook-signature';
import type { WebhookPayload } from '../../subgraphs/monitoring/notifications/webhook-payload';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { connect, subscribe } from '../support/subscriptions';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver';

const SECRET = 'test-webhook-secret-0123456789';

const CREATE_RULE = `mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { alertRule { id } userErrors { field message } } }`;
const UPDATE_RULE = `mutation($input: UpdateAlertRuleInput!) { updateAlertRule(input: $input) { userErrors { field message } } }`;
const CREATE_CHANNEL = `mutation($input: CreateNotificationChannelInput!) {
  createNotificationChannel(input: $input) { notificationChannel { id name url severities sendResolved } generatedSecret userErrors { field message code } }
}`;
const REPORT = `mutation($input: ReportMetricsInput!) { reportMetrics(input: $input) { accepted rejected { field reason } } }`;
const ALERTS = `query($state: AlertState) {
  alerts(state: $state) { fingerprint ruleName state labels { key value } acknowledgedBy acknowledgementComment notifiedAt silencedBy { id comment } }
}`;
const DELIVERIES = `query {
  notificationChannels(first: 10) { nodes { name deliveries(first: 20) { nodes { id status alertStatus attemptCount lastError fingerprints attempts { number statusCode at error } } } } }
}`;
const CREATE_SILENCE = `mutation($input: CreateSilenceInput!) { createSilence(input: $input) { silence { id state createdBy } userErrors { field message code } } }`;
const EXPIRE_SILENCE = `mutation($input: ExpireSilenceInput!) { expireSilence(input: $input) { silence { state } userErrors { field code } } }`;
const ACKNOWLEDGE = `mutation($input: AcknowledgeAlertInput!) {
  acknowledgeAlert(input: $input) { alert { state acknowledgedBy acknowledgementComment acknowledgedAt } userErrors { field message code } }
}`;
const HISTORY = `query($fingerprint: ID!) {
  alertHistory(fingerprint: $fingerprint, first: 50) { nodes { kind fromState toState actor comment channels silenceIds sequence alert { state } } }
}`;

interface AlertView {
  fingerprint: string;
  ruleName: string;
  state: string;
  acknowledgedBy: string | null;
  acknowledgementComment: string | null;
  notifiedAt: string | null;
  silencedBy: { id: string; comment: string }[];
}

const modelLabels = (model: string) => [
  { key: 'model', value: model },
  { key: 'version', value: '1.0.0' },
];

/** A rule that fires at once (`for` 0) while a model's last Brier score is above 0.3. */
const ruleFor = (name: string, model: string, severity = 'CRITICAL', extra: Record<string, unknown> = {}) => ({
  name,
  metric: 'model_brier_score',
  matchers: [{ label: 'model', op: '=', value: model }],
  aggregation: 'LAST',
  windowMs: 60_000,
  by: ['model'],
  comparison: 'GT',
  threshold: 0.3,
  severity,
  summary: 'Model {{ $labels.model }} scores {{ $value }}',
  ...extra,
});

const payloadOf = (webhook: ReceivedWebhook) => JSON.parse(webhook.body) as WebhookPayload;

describe('alert notifications', () => {
  let touchline: TestPlatform;
  let receiver: WebhookReceiver;
  const clients: Client[] = [];

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    touchline = await startTestPlatform('sqlite', {
      env: { TOUCHLINE_ALERT_EVALUATION_SECONDS: '1', TOUCHLINE_WEBHOOK_RETRY_BASE_MS: '300', TOUCHLINE_WEBHOOK_MAX_ATTEMPTS: '4' },
    });
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await touchline?.destroy();
    await receiver?.close();
  });

  async function gqlOk<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const response = await touchline.gql<T>(query, variables);
    expect(response.errors).toBeUndefined();
    return response.data!;
  }

  async function createRule(rule: Record<string, unknown>): Promise<string> {
    const data = await gqlOk(CREATE_RULE, { input: rule });
    expect(data.createAlertRule.userErrors).toEqual([]);
    return data.createAlertRule.alertRule.id;
  }

  async function createChannel(input: Record<string, unknown>) {
    const data = await gqlOk(CREATE_CHANNEL, { input });
    expect(data.createNotificationChannel.userErrors).toEqual([]);
    return data.createNotificationChannel;
  }

  async function report(model: string, value: number) {
    const data = await gqlOk(REPORT, { input: { samples: [{ name: 'model_brier_score', labels: modelLabels(model), value }] } });
    expect(data.reportMetrics).toEqual({ accepted: 1, rejected: [] });
  }

  async function alertOf(rule: string, state: string, timeoutMs = 15_000): Promise<AlertView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const data = await gqlOk<{ alerts: AlertView[] }>(ALERTS, { state });
      const found = data.alerts.find((alert) => alert.ruleName === rule);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${state} alert of ${rule} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function historyOf(fingerprint: string) {
    return (await gqlOk(HISTORY, { fingerprint })).alertHistory.nodes as { kind: string; fromState: string | null; toState: string | null; actor: string | null; comment: string | null; channels: string[]; silenceIds: string[]; sequence: string; alert: { state: string } }[];
  }

  const to = (path: string) => (received: ReceivedWebhook[]) => received.filter((webhook) => webhook.path === path);

  it('notifies a signed, Alertmanager-style webhook when an alert fires and when it resolves, routed by severity', async () => {
    await createChannel({ name: 'on-call', url: receiver.url('/on-call'), secret: SECRET, severities: ['CRITICAL'] });
    await createChannel({ name: 'warnings', url: receiver.url('/warnings'), secret: SECRET, severities: ['WARNING'] });
    await createRule(ruleFor('BrierHighOnCall', 'xg-notify'));

    await report('xg-notify', 0.5);
    const [firing] = to('/on-call')(await receiver.until((all) => to('/on-call')(all).length >= 1));
    expect(verifyWebhook(SECRET, firing!.body, firing!.headers['x-touchline-signature'] as string)).toBe(true);
    expect(verifyWebhook('another-secret-0123456789', firing!.body, firing!.headers['x-touchline-signature'] as string)).toBe(false);
    expect(verifyWebhook(SECRET, firing!.body.replace('firing', 'FIRING'), firing!.headers['x-touchline-signature'] as string)).toBe(false);
    expect(firing!.headers['content-type']).toBe('application/json');
    expect(firing!.headers['x-touchline-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    expect(payloadOf(firing!)).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'on-call',
      groupLabels: { alertname: 'BrierHighOnCall' },
      commonLabels: { alertname: 'BrierHighOnCall', model: 'xg-notify', severity: 'CRITICAL' },
      truncatedAlerts: 0,
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'BrierHighOnCall', model: 'xg-notify', severity: 'CRITICAL' },
          annotations: { summary: 'Model xg-notify scores 0.5', value: '0.5' },
          endsAt: '0001-01-01T00:00:00Z',
        },
      ],
    });
    const alert = await alertOf('BrierHighOnCall', 'FIRING');
    expect(payloadOf(firing!).alerts[0]!.fingerprint).toBe(alert.fingerprint);
    expect(alert.notifiedAt).not.toBeNull();

    await report('xg-notify', 0.1);
    const [, resolved] = to('/on-call')(await receiver.until((all) => to('/on-call')(all).length >= 2));
    expect(verifyWebhook(SECRET, resolved!.body, resolved!.headers['x-touchline-signature'] as string)).toBe(true);
    expect(payloadOf(resolved!)).toMatchObject({ status: 'resolved', alerts: [{ status: 'resolved', fingerprint: alert.fingerprint }] });
    expect(payloadOf(resolved!).alerts[0]!.endsAt).not.toBe('0001-01-01T00:00:00Z');
    // The WARNING channel's routing does not take a CRITICAL alert.
    expect(to('/warnings')(receiver.received)).toEqual([]);

    const history = await historyOf(alert.fingerprint);
    expect(history.map((entry) => [entry.kind, entry.toState ?? entry.channels.join(',')]).reverse()).toEqual([
      ['STATE_CHANGED', 'FIRING'],
      ['NOTIFIED', 'on-call'],
      ['STATE_CHANGED', 'RESOLVED'],
      ['NOTIFIED', 'on-call'],
    ]);
  }, 60_000);

  it('retries a failing receiver with growing waits and records every attempt', async () => {
    receiver.answer('/flaky', 503, 503);
    await createChannel({ name: 'flaky', url: receiver.url('/flaky'), secret: SECRET, matchers: [{ label: 'alertname', op: '=', value: 'BrierHighFlaky' }] });
    await createChannel({ name: 'refusing', url: receiver.url('/refusing'), secret: SECRET, matchers: [{ label: 'alertname', op: '=', value: 'BrierHighFlaky' }] });
    receiver.answer('/refusing', 400);
    await createRule(ruleFor('BrierHighFlaky', 'xg-flaky', 'INFO'));

    await report('xg-flaky', 0.9);
    const attempts = to('/flaky')(await receiver.until((all) => to('/flaky')(all).length >= 3));
    expect(attempts.map((webhook) => webhook.headers['x-touchline-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(attempts.map((webhook) => webhook.headers['x-touchline-delivery'])).size).toBe(1);
    expect(new Set(attempts.map((webhook) => webhook.body)).size).toBe(1);
    for (const attempt of attempts) expect(verifyWebhook(SECRET, attempt.body, attempt.headers['x-touchline-signature'] as string)).toBe(true);
    // Backoff: about 300 ms, then about 600 ms (±20% jitter).
    const firstWait = attempts[1]!.at - attempts[0]!.at;
    const secondWait = attempts[2]!.at - attempts[1]!.at;
    expect(firstWait).toBeGreaterThanOrEqual(230);
    expect(secondWait).toBeGreaterThan(firstWait);

    const deadline = Date.now() + 10_000;
    let channels: { name: string; deliveries: { nodes: any[] } }[] = [];
    for (;;) {
      channels = (await gqlOk(DELIVERIES)).notificationChannels.nodes;
      const flaky = channels.find((channel) => channel.name === 'flaky')!.deliveries.nodes[0];
      if (flaky?.status === 'DELIVERED' || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const flaky = channels.find((channel) => channel.name === 'flaky')!.deliveries.nodes;
    expect(flaky).toHaveLength(1);
    expect(flaky[0]).toMatchObject({ status: 'DELIVERED', alertStatus: 'firing', attemptCount: 3, lastError: null });
    expect(flaky[0].attempts.map((attempt: { statusCode: number }) => attempt.statusCode)).toEqual([503, 503, 200]);
    expect(flaky[0].attempts[0].error).toMatch(/^HTTP 503/);
    // A 400 is the receiver's answer, not a passing failure: no retry.
    const refusing = channels.find((channel) => channel.name === 'refusing')!.deliveries.nodes;
    expect(refusing[0]).toMatchObject({ status: 'FAILED', attemptCount: 1, lastError: 'HTTP 400: try later' });
    expect(to('/refusing')(receiver.received)).toHaveLength(1);
  }, 60_000);

  it('keeps a silenced alert but holds its notification back until the silence ends', async () => {
    await createChannel({ name: 'silenced-team', url: receiver.url('/silenced'), secret: SECRET, matchers: [{ label: 'model', op: '=', value: 'xg-silenced' }] });
    await createRule(ruleFor('BrierHighSilenced', 'xg-silenced', 'WARNING'));
    const created = await gqlOk(CREATE_SILENCE, {
      input: { matchers: [{ label: 'alertname', op: '=', value: 'BrierHighSilenced' }], durationMs: 3_600_000, comment: 'retraining tonight' },
    });
    expect(created.createSilence.userErrors).toEqual([]);
    expect(created.createSilence.silence).toMatchObject({ state: 'ACTIVE', createdBy: expect.any(String) });
    const silenceId: string = created.createSilence.silence.id;

    await report('xg-silenced', 0.7);
    const alert = await alertOf('BrierHighSilenced', 'FIRING');
    expect(alert.silencedBy).toEqual([{ id: silenceId, comment: 'retraining tonight' }]);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(to('/silenced')(receiver.received)).toEqual([]);
    const held = await historyOf(alert.fingerprint);
    expect(held.find((entry) => entry.kind === 'SUPPRESSED')).toMatchObject({ silenceIds: [silenceId] });

    const expired = await gqlOk(EXPIRE_SILENCE, { input: { id: silenceId } });
    expect(expired.expireSilence).toEqual({ silence: { state: 'EXPIRED' }, userErrors: [] });
    const [told] = to('/silenced')(await receiver.until((all) => to('/silenced')(all).length >= 1));
    expect(payloadOf(told!)).toMatchObject({ status: 'firing', alerts: [{ fingerprint: alert.fingerprint }] });
    const again = await gqlOk(EXPIRE_SILENCE, { input: { id: silenceId } });
    expect(again.expireSilence.userErrors).toEqual([{ field: ['input', 'id'], code: 'CONFLICT' }]);
  }, 60_000);

  it('records an acknowledgement with its comment, and streams changes over alertUpdated', async () => {
    const client = connect(touchline.url);
    clients.push(client);
    const updates = subscribe(client, `subscription { alertUpdated(filter: { ruleNames: ["BrierHighAcked"] }) { fingerprint state sequence acknowledgedBy acknowledgementComment labels { key value } } }`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await createRule(ruleFor('BrierHighAcked', 'xg-acked', 'WARNING', { forMs: 1_500, keepFiringForMs: 2_500 }));

    await report('xg-acked', 0.8);
    const firing = await alertOf('BrierHighAcked', 'FIRING');
    const empty = await gqlOk(ACKNOWLEDGE, { input: { fingerprint: firing.fingerprint, comment: '' } });
    expect(empty.acknowledgeAlert.userErrors).toEqual([expect.objectContaining({ field: ['input', 'comment'] })]);
    const unknown = await gqlOk(ACKNOWLEDGE, { input: { fingerprint: 'no-such-alert', comment: 'on it' } });
    expect(unknown.acknowledgeAlert.userErrors).toEqual([expect.objectContaining({ field: ['input', 'fingerprint'], code: 'NOT_FOUND' })]);
    const acked = await gqlOk(ACKNOWLEDGE, { input: { fingerprint: firing.fingerprint, comment: 'retraining with April data' } });
    expect(acked.acknowledgeAlert).toMatchObject({ alert: { state: 'FIRING', acknowledgementComment: 'retraining with April data' }, userErrors: [] });
    expect(acked.acknowledgeAlert.alert.acknowledgedBy).toBeTruthy();

    // The condition clears, but keepFiringFor holds the alert FIRING for 2.5 s, then it resolves.
    await report('xg-acked', 0.1);
    const clearedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await alertOf('BrierHighAcked', 'FIRING')).fingerprint).toBe(firing.fingerprint);
    await alertOf('BrierHighAcked', 'RESOLVED');
    expect(Date.now() - clearedAt).toBeGreaterThanOrEqual(2_500);

    const events = (await updates.until((all) => all.some((result) => result.data?.alertUpdated.state === 'RESOLVED'))).map((result) => {
      expect(result.errors).toBeUndefined();
      return result.data!.alertUpdated;
    });
    expect(events.map((event) => event.state)).toEqual(['PENDING', 'FIRING', 'FIRING', 'RESOLVED']);
    expect(events[2]).toMatchObject({ acknowledgementComment: 'retraining with April data', labels: [{ key: 'model', value: 'xg-acked' }] });
    expect(events.map((event) => Number(event.sequence))).toEqual([...events.map((event) => Number(event.sequence))].sort((a, b) => a - b));

    const history = await historyOf(firing.fingerprint);
    const acknowledged = history.find((entry) => entry.kind === 'ACKNOWLEDGED');
    expect(acknowledged).toMatchObject({ comment: 'retraining with April data', alert: { state: 'FIRING' } });
    expect(acknowledged!.actor).toBeTruthy();
    const resolved = await gqlOk(ACKNOWLEDGE, { input: { fingerprint: firing.fingerprint, comment: 'late' } });
    expect(resolved.acknowledgeAlert.userErrors).toEqual([expect.objectContaining({ code: 'CONFLICT' })]);
  }, 60_000);

  it('refuses bad channels and silences, naming each field at fault', async () => {
    const channel = await touchline.gql(CREATE_CHANNEL, {
      input: { name: '', url: 'ftp://example.test/hook', secret: 'short', matchers: [{ label: '9bad', op: '=~', value: '(' }] },
    });
    expect(channel.errors).toBeUndefined();
    const channelFields = channel.data?.createNotificationChannel.userErrors.map((error: { field: string[] }) => error.field.join('.')).sort();
    expect(channelFields).toEqual(['input.matchers.0.label', 'input.matchers.0.value', 'input.name', 'input.secret', 'input.url']);
    const withCredentials = await gqlOk(CREATE_CHANNEL, { input: { name: 'creds', url: 'http://user:pass@127.0.0.1:9/hook' } });
    expect(withCredentials.createNotificationChannel.userErrors).toEqual([expect.objectContaining({ field: ['input', 'url'] })]);
    const generated = await createChannel({ name: 'generated-secret', url: receiver.url('/generated') });
    expect(generated.generatedSecret).toMatch(/^whsec_[0-9a-f]{64}$/);
    const duplicate = await gqlOk(CREATE_CHANNEL, { input: { name: 'generated-secret', url: receiver.url('/generated') } });
    expect(duplicate.createNotificationChannel.userErrors).toEqual([expect.objectContaining({ field: ['input', 'name'], code: 'ALREADY_EXISTS' })]);

    const everything = await gqlOk(CREATE_SILENCE, { input: { matchers: [{ label: 'model', op: '=~', value: '.*' }], durationMs: 60_000, comment: 'all' } });
    expect(everything.createSilence.userErrors).toEqual([expect.objectContaining({ field: ['input', 'matchers'] })]);
    const past = await gqlOk(CREATE_SILENCE, {
      input: { matchers: [{ label: 'model', op: '=', value: 'x' }], startsAt: '2020-01-01T00:00:00Z', endsAt: '2020-01-02T00:00:00Z', comment: 'old' },
    });
    expect(past.createSilence.userErrors).toEqual([expect.objectContaining({ field: ['input', 'endsAt'] })]);
    const negative = await gqlOk(CREATE_SILENCE, { input: { matchers: [{ label: 'model', op: '=', value: 'x' }], durationMs: -5, comment: 'no' } });
    expect(negative.createSilence.userErrors).toEqual([expect.objectContaining({ field: ['input', 'durationMs'] })]);
    const none = await gqlOk(CREATE_SILENCE, { input: { matchers: [], durationMs: 1_000, comment: '' } });
    expect(none.createSilence.userErrors.map((error: { field: string[] }) => error.field.join('.')).sort()).toEqual(['input.comment', 'input.matchers']);

    // Channels hold where alerts go: a viewer may not read them.
    const secretField = await touchline.gql(`query { notificationChannels { nodes { secret } } }`);
    expect(secretField.errors?.[0]?.message).toMatch(/secret/);
  });

  it('keeps working when a rule is updated to stop notifying', async () => {
    await createRule(ruleFor('BrierHighLater', 'xg-later', 'CRITICAL'));
    const rules = await gqlOk(`query { alertRules(first: 100) { nodes { id name } } }`);
    const id = rules.alertRules.nodes.find((rule: { name: string }) => rule.name === 'BrierHighLater').id;
    const disabled = await gqlOk(UPDATE_RULE, { input: { id, enabled: false } });
    expect(disabled.updateAlertRule.userErrors).toEqual([]);
  });
});
