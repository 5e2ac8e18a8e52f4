// The built-in NodeDown rule end to end: a real agent pushes its node's metrics (seen through the gateway, and live on
// `nodeMetricsUpdated`), the rule is tuned to a short window, the agent is killed (SIGKILL: no goodbye), and within the window plus an evaluation the
// alert fires on `alertUpdated` and a signed webhook names the node; Prometheus sees the node's metrics, the alert
// and the delivery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import type { WebhookPayload } from '../../subgraphs/monitoring/notifications/webhook-payload';
import { verifyWebhook } from '../../subgraphs/monitoring/notifications/webhook-signature';
import { createJoinToken, startAgent, stopAgent, type TestAgent } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { parsePrometheusText, type MetricFamily } from '../support/prometheus-text';
import { connect, subscribe } from '../support/subscriptions';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const SECRET = 'node-down-secret-0123456789';
const WINDOW_MS = 3_000;
const EVALUATION_SECONDS = 1;

describe('node down', () => {
  let touchline: TestPlatform;
  let receiver: WebhookReceiver;
  let agent: TestAgent | undefined;
  const clients: Client[] = [];

  async function scrapeMonitoring(): Promise<Map<string, MetricFamily>> {
    const port = touchline.platform.subgraphs.find((subgraph) => subgraph.name === 'monitoring')!.port;
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    return parsePrometheusText(await response.text());
  }

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    touchline = await startTestPlatform('sqlite', { env: { TOUCHLINE_ALERT_EVALUATION_SECONDS: String(EVALUATION_SECONDS) } });
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    if (agent) await stopAgent(agent);
    await touchline?.destroy();
    await receiver?.close();
  });

  it('fires the built-in NodeDown rule and notifies when an agent dies', async () => {
    const tuned = await touchline.gql(`mutation { updateAlertRule(input: { id: "builtin-node-down", windowMs: ${WINDOW_MS} }) { userErrors { message } } }`);
    expect(tuned.data?.updateAlertRule.userErrors).toEqual([]);
    const channel = await touchline.gql(
      `mutation($input: CreateNotificationChannelInput!) { createNotificationChannel(input: $input) { userErrors { message } } }`,
      { input: { name: 'ops', url: receiver.url('/ops'), secret: SECRET, severities: ['CRITICAL'] } },
    );
    expect(channel.data?.createNotificationChannel.userErrors).toEqual([]);

    agent = await startAgent(touchline, { name: 'doomed', joinToken: await createJoinToken(touchline), metricsIntervalSeconds: 1 });
    const nodes = await touchline.gql(`{ nodes { nodes { id name } } }`);
    const nodeId: string = nodes.data?.nodes.nodes.find((node: { name: string }) => node.name === 'doomed').id;
    // The node's own metrics, through the gateway, once the first push is in.
    let metrics: { name: string; value: number }[] = [];
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && !metrics.some((metric) => metric.name === 'node_up'); ) {
      const answer = await touchline.gql(`query($id: ID!) { node(id: $id) { metrics(names: ["node_up", "node_cpu_utilization", "node_memory_available_bytes"]) { name value } } }`, { id: nodeId });
      metrics = answer.data?.node.metrics ?? [];
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(metrics.map((metric) => metric.name).sort()).toEqual(['node_cpu_utilization', 'node_memory_available_bytes', 'node_up']);
    expect(metrics.find((metric) => metric.name === 'node_up')?.value).toBe(1);
    // And to Prometheus, under their own names.
    const before = await scrapeMonitoring();
    expect(before.get('node_up')?.samples).toEqual([expect.objectContaining({ labels: { node: nodeId, service: 'monitoring' }, value: 1 })]);
    expect(before.get('node_cpu_utilization')?.samples[0]?.value).toBeGreaterThanOrEqual(0);

    // Live: each report of the agent, with the node's name from the scheduler (through federation).
    const client = connect(touchline.url);
    clients.push(client);
    const live = subscribe(
      client,
      `subscription($nodes: [ID!]) { nodeMetricsUpdated(nodes: $nodes, names: ["node_up", "node_cpu_utilization"]) { node { id name } at sequence metrics { name value labels { key value } } } }`,
      { nodes: [nodeId] },
    );
    const reports = await live.until((all) => all.length >= 2);
    expect(reports.flatMap((report) => report.errors ?? [])).toEqual([]);
    for (const { data } of reports) {
      expect(data?.nodeMetricsUpdated.node).toEqual({ id: nodeId, name: 'doomed' });
      expect(data?.nodeMetricsUpdated.metrics.map((metric: { name: string }) => metric.name)).toEqual(['node_cpu_utilization', 'node_up']);
      expect(data?.nodeMetricsUpdated.metrics[1]).toEqual({ name: 'node_up', value: 1, labels: [{ key: 'node', value: nodeId }] });
    }
    expect(Number(reports[1]!.data?.nodeMetricsUpdated.sequence)).toBeGreaterThan(Number(reports[0]!.data?.nodeMetricsUpdated.sequence));
    live.stop();

    const updates = subscribe(client, `subscription { alertUpdated(filter: { ruleNames: ["NodeDown"] }) { state severity labels { key value } summary } }`);
    await new Promise((resolve) => setTimeout(resolve, 2 * EVALUATION_SECONDS * 1000));
    expect(updates.results).toEqual([]);

    process.kill(agent.process.pid, 'SIGKILL');
    const killedAt = Date.now();
    const [firing] = await updates.until((all) => all.some((result) => result.data?.alertUpdated.state === 'FIRING'), 20_000);
    expect(firing?.data?.alertUpdated).toMatchObject({ state: 'FIRING', severity: 'CRITICAL', labels: [{ key: 'node', value: nodeId }] });
    const [webhook] = await receiver.until((all) => all.length > 0, 10_000);
    const notifiedAfterMs = webhook!.at - killedAt;
    // The last sample leaves the window WINDOW_MS after it was taken; then at most an evaluation, and the sender.
    expect(notifiedAfterMs).toBeLessThanOrEqual(WINDOW_MS + 2 * EVALUATION_SECONDS * 1000 + 2_000);
    expect(verifyWebhook(SECRET, webhook!.body, webhook!.headers['x-touchline-signature'] as string)).toBe(true);
    const payload = JSON.parse(webhook!.body) as WebhookPayload;
    expect(payload).toMatchObject({ status: 'firing', receiver: 'ops', alerts: [{ labels: { alertname: 'NodeDown', node: nodeId, severity: 'CRITICAL' } }] });
    expect(payload.alerts[0]!.annotations.summary).toContain(nodeId);

    await expect.poll(async () => (await scrapeMonitoring()).get('touchline_notification_attempts_total')?.samples, { timeout: 5_000 }).toEqual([
      expect.objectContaining({ labels: { outcome: 'delivered', service: 'monitoring' }, value: 1 }),
    ]);
    const after = await scrapeMonitoring();
    expect(after.get('touchline_alerts')?.samples).toContainEqual(expect.objectContaining({ labels: { state: 'FIRING', severity: 'CRITICAL', service: 'monitoring' }, value: 1 }));
    expect(after.get('touchline_notification_deliveries')?.samples).toEqual([expect.objectContaining({ labels: { status: 'DELIVERED', service: 'monitoring' }, value: 1 })]);
  }, 60_000);
});
