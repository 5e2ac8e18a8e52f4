// Who may subscribe to what, and the limits that keep one client from hurting others: a missing or bad key closes
// the connection with graphql-ws's Unauthorized code; roles are checked per subscription; a node's credential sees
// only its own node's assignments; a connection holds a bounded number of subscriptions; and a client too slow for
// its events is cut off, with a close reason saying where to resume, while a fast one keeps everything.
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJoinToken, startAgent, stopAgent, SUBMIT, waitForJob, type TestAgent } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { connect, subscribe, wsUrl } from '../support/subscriptions';

const BUFFER = 3;

describe('subscription access and limits', () => {
  let touchline: TestPlatform;
  const agents: TestAgent[] = [];
  const clients: Client[] = [];
  const sockets: WebSocket[] = [];
  const client = (key?: string | null, onClose?: (event: { code: number; reason: string }) => void) => {
    const made = connect(touchline.url, key, { onClose });
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', {
      env: {
        TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: '1',
        TOUCHLINE_SUBSCRIBER_BUFFER: String(BUFFER),
        TOUCHLINE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
        TOUCHLINE_WS_IDLE_TIMEOUT_SECONDS: '1',
      },
    });
    const token = await createJoinToken(touchline);
    agents.push(await startAgent(touchline, { name: 'node-a', joinToken: token, labels: 'pool=a' }));
    agents.push(await startAgent(touchline, { name: 'node-b', joinToken: token, labels: 'pool=b' }));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await Promise.all(clients.map((c) => c.dispose()));
    await Promise.all(agents.map((agent) => stopAgent(agent)));
    await touchline?.destroy();
  });

  it('closes a connection without a key, or with a bad one, as Unauthorized (4401)', async () => {
    for (const key of [null, 'tl_not-a-real-key-0123456789abcdef']) {
      let closed: { code: number; reason: string } | undefined;
      const subscription = subscribe(client(key, (event) => (closed = event)), `subscription { jobUpdated { id } }`);
      await subscription.until(() => subscription.ended !== undefined);
      expect(closed?.code).toBe(4401);
      expect(closed?.reason).toMatch(key ? /Unauthorized: .*(invalid|unknown|not)/i : /Unauthorized: Authentication required/);
      expect(subscription.results).toEqual([]);
    }
  });

  it('closes a connection that holds no subscription for the idle timeout, and keeps one that does', async () => {
    const idle = await rawConnection(touchline.url);
    sockets.push(idle.socket);
    const busy = subscribe(client(), `subscription { jobUpdated { id } }`);
    const closed = await idle.closed;
    expect(closed).toEqual({ code: 1000, reason: 'Idle: no subscription for a while' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(busy.ended).toBeUndefined();
    busy.stop();
  });

  it("refuses a subscription the caller's role does not allow", async () => {
    const created = await touchline.gql(`mutation { createApiKey(input: {name: "dashboard", role: VIEWER}) { key } }`);
    const viewer = client(created.data?.createApiKey.key as string);
    const forbidden = subscribe(viewer, `subscription { nodeAssignments { id } }`);
    const [refusal] = await forbidden.until((results) => results.length > 0);
    expect(refusal?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(refusal?.errors?.[0]?.message).toMatch(/nodeAssignments needs the node role/);
    // ...while the viewer may watch jobs.
    const allowed = subscribe(viewer, `subscription { jobUpdated { id } }`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(allowed.ended).toBeUndefined();
    allowed.stop();
  });

  it("shows a node's credential its own node's assignments only, and nothing else", async () => {
    const credential = JSON.parse(fs.readFileSync(path.join(agents[0]!.stateDir, 'credential.json'), 'utf8')).credential as string;
    const node = client(credential);
    const assignments = subscribe(node, `subscription { nodeAssignments { id state } }`);
    const jobs = subscribe(node, `subscription { jobUpdated { id } }`);
    const [refusal] = await jobs.until((results) => results.length > 0);
    expect(refusal?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    await new Promise((resolve) => setTimeout(resolve, 300));
    const mine = (await touchline.gql(SUBMIT, { input: { command: ['true'], nodeSelector: [{ key: 'pool', value: 'a' }] } })).data?.submitJob.job.id;
    const theirs = (await touchline.gql(SUBMIT, { input: { command: ['true'], nodeSelector: [{ key: 'pool', value: 'b' }] } })).data?.submitJob.job.id;
    await waitForJob(touchline, theirs, (job) => job.state === 'SUCCEEDED');
    const results = await assignments.until((all) => all.some((r) => r.data?.nodeAssignments.state === 'SUCCEEDED'));
    const ids = new Set(results.map((r) => r.data?.nodeAssignments.id));
    expect([...ids]).toEqual([mine]);
    expect(results.map((r) => r.data?.nodeAssignments.state)).toEqual(['SCHEDULED', 'STARTING', 'RUNNING', 'SUCCEEDED']);
  });

  it('refuses a subscription past the per-connection cap, saying so', async () => {
    const capped = client();
    const one = subscribe(capped, `subscription { jobUpdated { id } }`);
    const two = subscribe(capped, `subscription { jobUpdated { state } }`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const three = subscribe(capped, `subscription { jobUpdated { name } }`);
    const [refusal] = await three.until((results) => results.length > 0 || three.ended !== undefined).then(() => three.results);
    const errors = refusal?.errors ?? (three.ended as { error: { message: string; extensions?: Record<string, unknown> }[] }).error;
    expect(errors[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(one.ended).toBeUndefined();
    expect(two.ended).toBeUndefined();
    one.stop();
    two.stop();
  });

  it('cuts off a client that stops reading, while a fast one keeps receiving; the cut-off one can resume', async () => {
    // A job that fits no node, with a large environment: each of its changes is about 2 MB for the slow client's
    // query (its environment four times over), so the socket's buffers fill within a few events.
    const env = Array.from({ length: 20 }, (_, i) => ({ name: `BIG_${i}`, value: 'x'.repeat(25_000) }));
    const submitted = await touchline.gql(SUBMIT, { input: { name: 'bulky', command: ['true'], env, nodeSelector: [{ key: 'pool', value: 'none' }] } });
    const id = submitted.data?.submitJob.job.id as string;

    const fast = subscribe(client(), `subscription($f: JobUpdatesFilter) { jobUpdated(filter: $f) { id state sequence } }`, { f: { ids: [id] } });
    const slow = await rawSubscription(
      touchline.url,
      `subscription($f: JobUpdatesFilter) { jobUpdated(filter: $f) { id state sequence a: env { value } b: env { value } c: env { value } d: env { value } } }`,
      { f: { ids: [id] } },
    );
    sockets.push(slow.socket);
    slow.socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));

    const CYCLES = 12;
    for (let i = 0; i < CYCLES; i++) {
      await touchline.gql(`mutation($id: ID!) { cancelJob(input: {id: $id}) { job { state } } }`, { id });
      await touchline.gql(`mutation($id: ID!) { retryJob(input: {id: $id}) { job { state } } }`, { id });
    }
    const fastResults = await fast.until((results) => results.length >= CYCLES * 2, 30_000);
    expect(fastResults.map((r) => r.data?.jobUpdated.state)).toEqual(Array.from({ length: CYCLES }, () => ['CANCELLED', 'PENDING']).flat());

    slow.socket.resume();
    const closed = await slow.closed;
    expect(closed.code).toBe(1013);
    const resumeAfter = /resume after (\d+)/.exec(closed.reason)?.[1];
    expect(closed.reason).toMatch(/^Slow consumer/);
    expect(slow.received.length).toBeLessThan(CYCLES * 2);
    // Everything it did receive came in order, and its resume point is the last of them.
    const sequences = slow.received.map((r) => Number(r.sequence));
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    if (slow.received.length > 0) expect(resumeAfter).toBe(slow.received.at(-1)!.sequence);

    // Resumed with a query that reads its events at once, it gets all it missed.
    const resumed = subscribe(client(), `subscription($f: JobUpdatesFilter, $after: String) { jobUpdated(filter: $f, after: $after) { state sequence } }`, {
      f: { ids: [id] },
      after: resumeAfter ?? String(Number(fastResults[0]!.data?.jobUpdated.sequence) - 1),
    });
    const rest = await resumed.until((results) => results.length >= CYCLES * 2 - slow.received.length);
    expect(rest.map((r) => r.data?.jobUpdated.sequence)).toEqual(fastResults.slice(slow.received.length).map((r) => r.data?.jobUpdated.sequence));
  });
});

/** A graphql-ws connection by hand, acknowledged and holding no subscription. */
async function rawConnection(url: string) {
  const socket = new WebSocket(wsUrl(url), 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer tl_test-admin-key-0123456789abcdef' } })));
    socket.on('error', reject);
    socket.on('message', (data) => {
      if ((JSON.parse(data.toString()) as { type: string }).type === 'connection_ack') resolve();
    });
  });
  return { socket, closed };
}

/** A graphql-ws client by hand, over a raw WebSocket, so that the test can stop reading from it. */
async function rawSubscription(url: string, query: string, variables: Record<string, unknown>) {
  const socket = new WebSocket(wsUrl(url), 'graphql-transport-ws');
  const received: { state: string; sequence: string }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer tl_test-admin-key-0123456789abcdef' } })));
    socket.on('error', reject);
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string; payload?: { data?: { jobUpdated: { state: string; sequence: string } } } };
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
        resolve();
      }
      if (message.type === 'next' && message.payload?.data) received.push(message.payload.data.jobUpdated);
    });
  });
  return { socket, received, closed };
}
