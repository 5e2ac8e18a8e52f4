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

  it("reads each event's other fields afresh: the attempts as they are at that change", async () => {
    const subscription = subscribe(client(), `subscription($f: JobUpdatesFilter) { jobUpdated(filter: $f) { state attempts { number state } } }`, { f: { model: 'xg' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await touchline.gql(SUBMIT, { input: { modelVersion: { model: 'xg', version: '1.2.0' } } });
    const results = await subscription.until((all) => all.some((r) => r.data?.jobUpdated.state === 'SUCCEEDED'));
    const events = results.map((r) => r.data?.jobUpdated as { state: string; attempts: { number: number; state: string }[] });
    expect(events[0]).toEqual({ state: 'PENDING', attempts: [] });
    expect(events.at(-1)).toEqual({ state: 'SUCCEEDED', attempts: [{ number: 1, state: 'SUCCEEDED' }] });
    subscription.stop();
  });

  it('serves identical live subscriptions from one upstream subscription', async () => {
    const JOBS = 10;
    const stats = touchline.platform.gateway.subscriptionStats;
    await new Promise((resolve) => setTimeout(resolve, 300)); // the previous test's subscription has ended
    const before = { ...stats }; // (the agent's own subscription is there too)
    const query = `subscription { jobUpdated(filter: {model: "xg", states: [PENDING]}) { id modelVersion { version model { name } } } }`;
    const watchers = Array.from({ length: 20 }, () => subscribe(client(), query));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(stats.groups - before.groups).toBe(1);
    expect(stats.subscribers - before.subscribers).toBe(20);
    for (let i = 0; i < JOBS; i++) {
      await touchline.gql(SUBMIT, { input: { modelVersion: { model: 'xg', version: '1.2.0' }, nodeSelector: [{ key: 'pool', value: 'none' }] } });
    }
    for (const watcher of watchers) {
      const results = await watcher.until((all) => all.length >= JOBS);
      expect(results.map((r) => r.data?.jobUpdated.modelVersion)).toEqual(Array.from({ length: JOBS }, () => ({ version: '1.2.0', model: { name: 'xg' } })));
    }
    expect(stats.events - before.events).toBe(JOBS); // received once for the twenty subscribers, not twenty times
    for (const watcher of watchers) watcher.stop();
  });

  it('replays to each resuming client from its own point, batching the registry fetches of events that come together', async () => {
    const JOBS = 30;
    const query = `subscription($after: String) { jobUpdated(filter: {model: "xg", states: [PENDING]}, after: $after) { id sequence modelVersion { version model { name } } } }`;
    const marker = subscribe(client(), query);
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 0; i < JOBS; i++) {
      await touchline.gql(SUBMIT, { input: { modelVersion: { model: 'xg', version: '1.2.0' }, nodeSelector: [{ key: 'pool', value: 'none' }] } });
    }
    const submitted = await marker.until((all) => all.length >= JOBS);
    const after = String(Number(submitted[0]!.data?.jobUpdated.sequence) - 1);

    // Twenty dashboards catch up on the same thirty changes at once, each from the point it asks for.
    const stats = touchline.platform.gateway.subscriptionStats;
    const before = { ...stats };
    const watchers = Array.from({ length: 20 }, () => subscribe(client(), query, { after }));
    for (const watcher of watchers) {
      const results = await watcher.until((all) => all.length >= JOBS);
      expect(results.map((r) => r.data?.jobUpdated)).toEqual(submitted.map((r) => r.data?.jobUpdated));
    }
    const events = stats.events - before.events;
    const fetches = stats.entityFetches - before.entityFetches;
    expect(events).toBe(JOBS * 20);
    expect(fetches).toBeGreaterThan(0);
    expect(fetches).toBeLessThan(events / 10); // events that came together shared requests to the registry
    for (const watcher of [...watchers, marker]) watcher.stop();
  });
});
