// Subscriptions through the gateway, as a dashboard uses them: a job's every state, with fields from the scheduler
// and the registry together in each event; who may subscribe to what; resuming after a disconnect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { createJoinToken, startAgent, stopAgent, SUBMIT, type TestAgent } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { connect, subscribe } from '../support/subscriptions';

const JOB_UPDATED = `subscription($filter: JobUpdatesFilter, $after: String) {
  jobUpdated(filter: $filter, after: $after) { id state attempt sequence node { name } modelVersion { version model { name } } }
}`;

describe('subscriptions through the gateway', () => {
  let touchline: TestPlatform;
  let agent: TestAgent;
  const clients: Client[] = [];
  const client = (key?: string | null) => {
    const made = connect(touchline.url, key);
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', { env: { TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: '1' } });
    agent = await startAgent(touchline, { name: 'node-a', joinToken: await createJoinToken(touchline) });
    await touchline.gql(`mutation { createModel(input: {name: "xg"}) { userErrors { message } } }`);
    await touchline.gql(`mutation { registerModelVersion(input: {model: "xg", version: "1.2.0", command: ["sh", "-c", "echo scoring"]}) { userErrors { message } } }`);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    if (agent) await stopAgent(agent);
    await touchline?.destroy();
  });

  it("streams a job from PENDING to SUCCEEDED with its node's and its model's names in each event", async () => {
    const subscription = subscribe(client(), JOB_UPDATED, { filter: { model: 'xg' } });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the subscription is live before the job is submitted
    const submitted = await touchline.gql(SUBMIT, { input: { modelVersion: { model: 'xg', version: '1.2.0' } } });
    const id = submitted.data?.submitJob.job.id as string;
    const results = await subscription.until((all) => all.some((r) => r.data?.jobUpdated.state === 'SUCCEEDED'));
    const events = results.map((r) => r.data?.jobUpdated);
    expect(results.every((r) => r.errors === undefined)).toBe(true);
    expect(events.map((e) => e.state)).toEqual(['PENDING', 'SCHEDULED', 'STARTING', 'RUNNING', 'SUCCEEDED']);
    for (const event of events) {
      expect(event).toMatchObject({ id, modelVersion: { version: '1.2.0', model: { name: 'xg' } } });
    }
    expect(events.slice(1, 4).map((e) => e.node?.name)).toEqual(['node-a', 'node-a', 'node-a']);
    const sequences = events.map((e) => Number(e.sequence));
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(results.map((r) => r.extensions?.sequence)).toEqual(events.map((e) => e.sequence));
    subscription.stop();
  });
});
