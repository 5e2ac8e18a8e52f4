// The built-in NodeDown rule end to end: a real agent pushes its node's metrics (seen through the gateway), the rule
// is tuned to a short window, the agent is killed (SIGKILL: no goodbye), and within the window plus an evaluation the
// alert fires on `alertUpdated` and a signed webhook names the node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import type { WebhookPayload } from '../../subgraphs/monitoring/notifications/webhook-payload';
import { verifyWebhook } from '../../subgraphs/monitoring/notifications/webhook-signature';
import { createJoinToken, startAgent, stopAgent, type TestAgent } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';
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

    const client = connect(touchline.url);
    clients.push(client);
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
  }, 60_000);
});
