// Subscriptions through the gateway to the registry's models stream (versions registered, alias moves, stage changes)
// and the scheduler's nodes stream (a node enrolling, cordoned, drained, lost), as a dashboard uses them: filtered, in order,
// resumable with `after`; who may subscribe.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { createJoinToken, startAgent, stopAgent, type TestAgent } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { connect, subscribe, type Received, type TestSubscription } from '../support/subscriptions';

const VERSION_REGISTERED = `subscription($model: String, $after: String) {
  modelVersionRegistered(model: $model, after: $after) { id version stage sequence model { name } }
}`;
const ALIAS_MOVED = `subscription($model: String, $alias: String, $after: String) {
  modelAliasMoved(model: $model, alias: $alias, after: $after) { kind alias sequence actor fromVersion { version } toVersion { version } model { name } }
}`;
const STAGE_CHANGED = `subscription($model: String, $after: String) {
  modelStageChanged(model: $model, after: $after) { kind fromStage toStage reason sequence modelVersion { version } }
}`;
const NODE_UPDATED = `subscription($filter: NodeUpdatesFilter, $after: String) {
  nodeUpdated(filter: $filter, after: $after) { id name status cordoned draining sequence capacity { cpuMillicores memoryMiB } }
}`;

const register = (touchline: TestPlatform, model: string, version: string) =>
  touchline.gql(`mutation($model: String!, $version: String!) { registerModelVersion(input: {model: $model, version: $version}) { userErrors { message } } }`, {
    model,
    version,
  });
const setAlias = (touchline: TestPlatform, model: string, alias: string, version: string) =>
  touchline.gql(`mutation($input: SetModelAliasInput!) { setModelAlias(input: $input) { userErrors { message } } }`, { input: { model, alias, version } });
const transition = (touchline: TestPlatform, model: string, version: string, stage: string) =>
  touchline.gql(`mutation($input: TransitionModelVersionStageInput!) { transitionModelVersionStage(input: $input) { userErrors { message } } }`, {
    input: { model, version, stage },
  });

/** The subscription's events, failing the test on any GraphQL error. */
function events(results: Received[], field: string): any[] {
  expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
  return results.map((result) => result.data?.[field]);
}

/** Waits for `subscription` to hold `count` results. */
const received = (subscription: TestSubscription, count: number) => subscription.until((all) => all.length >= count);

/** Gives a subscription that was just opened time to be live at its subgraph before the test changes anything. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

/** The error a subscription was refused with: the gateway sends it as the one result, then completes. */
async function refusalOf(subscription: TestSubscription): Promise<{ message: string; extensions?: Record<string, unknown> } | undefined> {
  await subscription.until(() => subscription.ended !== undefined);
  expect(subscription.ended).toEqual({ complete: true });
  expect(subscription.results).toHaveLength(1);
  return subscription.results[0]?.errors?.[0];
}

const increasing = (sequences: string[]) => sequences.every((sequence, i) => i === 0 || Number(sequence) > Number(sequences[i - 1]));

describe('registry and node subscriptions through the gateway (SQLite)', () => {
  let touchline: TestPlatform;
  let agent: TestAgent | undefined;
  const clients: Client[] = [];
  const client = (key?: string | null, onClose?: (event: { code: number; reason: string }) => void) => {
    const made = connect(touchline.url, key, { onClose });
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', { env: { TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: '1' } });
    await touchline.gql(`mutation { createModel(input: {name: "xg"}) { userErrors { message } } }`);
    await touchline.gql(`mutation { createModel(input: {name: "pass-value"}) { userErrors { message } } }`);
    await register(touchline, 'xg', '1.0.0');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    if (agent) await stopAgent(agent);
    await touchline?.destroy();
  });

  it("streams one model's versions registered, alias moves and stage changes, in commit order", async () => {
    const connection = client();
    const versions = subscribe(connection, VERSION_REGISTERED, { model: 'xg' });
    const champion = subscribe(connection, ALIAS_MOVED, { model: 'xg', alias: 'champion' });
    const stages = subscribe(connection, STAGE_CHANGED, { model: 'xg' });
    await settle();

    await register(touchline, 'xg', '1.1.0');
    await register(touchline, 'pass-value', '1.0.0'); // another model: filtered out
    await setAlias(touchline, 'xg', 'champion', '1.0.0');
    await setAlias(touchline, 'xg', 'challenger', '1.1.0'); // another alias: filtered out
    await setAlias(touchline, 'xg', 'champion', '1.1.0');
    await transition(touchline, 'xg', '1.0.0', 'PRODUCTION');
    await transition(touchline, 'xg', '1.1.0', 'PRODUCTION'); // archives 1.0.0: two events

    const registered = events(await received(versions, 1), 'modelVersionRegistered');
    const moves = events(await received(champion, 2), 'modelAliasMoved');
    const changes = events(await received(stages, 3), 'modelStageChanged');
    await settle(); // nothing more arrives
    expect(registered).toHaveLength(1);
    expect(registered[0]).toMatchObject({ version: '1.1.0', stage: 'NONE', model: { name: 'xg' } });
    expect(moves).toHaveLength(2);
    expect(moves.map(({ sequence: _sequence, ...move }) => move)).toEqual([
      { kind: 'ALIAS_MOVED', alias: 'champion', actor: 'bootstrap admin', fromVersion: null, toVersion: { version: '1.0.0' }, model: { name: 'xg' } },
      { kind: 'ALIAS_MOVED', alias: 'champion', actor: 'bootstrap admin', fromVersion: { version: '1.0.0' }, toVersion: { version: '1.1.0' }, model: { name: 'xg' } },
    ]);
    expect(changes).toHaveLength(3);
    expect(changes.map(({ sequence: _sequence, ...change }) => change)).toEqual([
      { kind: 'STAGE_CHANGED', fromStage: 'NONE', toStage: 'PRODUCTION', reason: null, modelVersion: { version: '1.0.0' } },
      { kind: 'STAGE_CHANGED', fromStage: 'NONE', toStage: 'PRODUCTION', reason: null, modelVersion: { version: '1.1.0' } },
      { kind: 'STAGE_CHANGED', fromStage: 'PRODUCTION', toStage: 'ARCHIVED', reason: 'replaced in production by 1.1.0', modelVersion: { version: '1.0.0' } },
    ]);

    // One stream: the sequences of all three subscriptions interleave in the order the changes were made.
    const all = [registered[0], ...moves, ...changes].map((event) => event.sequence as string);
    expect(all.every((sequence) => /^\d+$/.test(sequence))).toBe(true);
    expect(increasing(all)).toBe(true);
    for (const [subscription, field] of [[versions, 'modelVersionRegistered'], [champion, 'modelAliasMoved'], [stages, 'modelStageChanged']] as const) {
      expect(subscription.results.map((r) => r.extensions?.sequence)).toEqual(subscription.results.map((r) => r.data?.[field].sequence));
      subscription.stop();
    }
  });

  it('replays what a client missed when it resumes with after, then goes on live', async () => {
    const first = subscribe(client(), VERSION_REGISTERED, { model: 'xg' });
    await settle();
    await register(touchline, 'xg', '2.0.0');
    const [seen] = events(await received(first, 1), 'modelVersionRegistered');
    first.stop();

    // Missed while away: a version, its stage change and an alias move.
    await register(touchline, 'xg', '2.1.0');
    await transition(touchline, 'xg', '2.1.0', 'STAGING');
    await setAlias(touchline, 'xg', 'champion', '2.1.0');

    const connection = client();
    const versions = subscribe(connection, VERSION_REGISTERED, { model: 'xg', after: seen.sequence });
    const champion = subscribe(connection, ALIAS_MOVED, { model: 'xg', alias: 'champion', after: seen.sequence });
    const replayed = events(await received(versions, 1), 'modelVersionRegistered');
    // The version as it was registered, not as it is now (STAGING).
    expect(replayed).toEqual([expect.objectContaining({ version: '2.1.0', stage: 'NONE' })]);
    expect(events(await received(champion, 1), 'modelAliasMoved')).toEqual([
      expect.objectContaining({ fromVersion: { version: '1.1.0' }, toVersion: { version: '2.1.0' } }),
    ]);

    await register(touchline, 'xg', '2.2.0');
    const live = events(await received(versions, 2), 'modelVersionRegistered');
    expect(live.map((version) => version.version)).toEqual(['2.1.0', '2.2.0']);
    expect(increasing([seen.sequence, ...live.map((version) => version.sequence)])).toBe(true);
    versions.stop();
    champion.stop();
  });

  it('refuses a model that does not exist and an after that is not a sequence', async () => {
    const connection = client();
    expect(await refusalOf(subscribe(connection, STAGE_CHANGED, { model: 'no-such-model' }))).toMatchObject({
      message: 'model: no model is named "no-such-model"',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(await refusalOf(subscribe(connection, ALIAS_MOVED, { after: 'yesterday' }))).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', argument: 'after' } });
  });

  it('streams a node enrolling, then cordoned, drained and uncordoned, but not its heartbeats', async () => {
    const connection = client();
    const nodeB = subscribe(connection, NODE_UPDATED, { filter: { names: ['node-b'] } });
    const cordoned = subscribe(connection, NODE_UPDATED, { filter: { statuses: ['CORDONED'] } });
    await settle();

    agent = await startAgent(touchline, { name: 'node-b', joinToken: await createJoinToken(touchline), cpuMillicores: 2000, memoryMiB: 1024 });
    const [enrolled] = events(await received(nodeB, 1), 'nodeUpdated');
    expect(enrolled).toMatchObject({ name: 'node-b', status: 'READY', cordoned: false, draining: false, capacity: { cpuMillicores: 2000, memoryMiB: 1024 } });

    const id = enrolled.id as string;
    await touchline.gql(`mutation($id: ID!) { cordonNode(input: {id: $id}) { userErrors { message } } }`, { id });
    await touchline.gql(`mutation($id: ID!) { drainNode(input: {id: $id, deadlineSeconds: 3600}) { userErrors { message } } }`, { id });
    await touchline.gql(`mutation($id: ID!) { uncordonNode(input: {id: $id}) { userErrors { message } } }`, { id });
    const changes = events(await received(nodeB, 4), 'nodeUpdated');
    expect(changes.map((node) => [node.status, node.cordoned, node.draining])).toEqual([
      ['READY', false, false],
      ['CORDONED', true, false],
      ['DRAINING', true, true],
      ['READY', false, false],
    ]);
    expect(increasing(changes.map((node) => node.sequence))).toBe(true);
    expect(events(await received(cordoned, 1), 'nodeUpdated').map((node) => node.status)).toEqual(['CORDONED']);

    // Heartbeats come every second and change nothing a watcher cares about.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(nodeB.results).toHaveLength(4);
    expect(cordoned.results).toHaveLength(1);
    nodeB.stop();
    cordoned.stop();
  });

  it('lets a viewer key subscribe, and refuses a connection without a key', async () => {
    const key = await touchline.gql(`mutation { createApiKey(input: {name: "wallboard", role: VIEWER}) { key userErrors { message } } }`);
    const viewer = subscribe(client(key.data?.createApiKey.key), NODE_UPDATED, { after: '0' });
    expect(events(await received(viewer, 1), 'nodeUpdated')[0]).toMatchObject({ name: 'node-b' }); // replayed from the start
    viewer.stop();

    let closed: { code: number; reason: string } | undefined;
    const anonymous = subscribe(
      client(null, (event) => (closed = event)),
      STAGE_CHANGED,
    );
    await anonymous.until(() => anonymous.ended !== undefined);
    expect(anonymous.results).toEqual([]);
    expect(closed?.code).toBe(4401);
  });
});

describe('the models and nodes streams on PostgreSQL', () => {
  let touchline: TestPlatform;
  let agent: TestAgent | undefined;
  const clients: Client[] = [];
  beforeAll(async () => {
    // Nodes that stop answering are NOT_READY after 2 s and DOWN a second later.
    const env = { TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: '1', TOUCHLINE_HEARTBEAT_TIMEOUT_SECONDS: '2', TOUCHLINE_NODE_LOST_GRACE_SECONDS: '1' };
    touchline = await startTestPlatform('postgres', { env });
    await touchline.gql(`mutation { createModel(input: {name: "xg"}) { userErrors { message } } }`);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    if (agent) await stopAgent(agent);
    await touchline?.destroy();
  });

  it('numbers events as strings and resumes after them', async () => {
    const connection = connect(touchline.url);
    clients.push(connection);
    const live = subscribe(connection, VERSION_REGISTERED, { model: 'xg' });
    await settle();
    await register(touchline, 'xg', '1.0.0');
    await register(touchline, 'xg', '1.1.0');
    const [first, second] = events(await received(live, 2), 'modelVersionRegistered');
    expect([first.version, second.version]).toEqual(['1.0.0', '1.1.0']);
    expect(increasing([first.sequence, second.sequence])).toBe(true);
    live.stop();

    const resumed = subscribe(connection, VERSION_REGISTERED, { model: 'xg', after: first.sequence });
    expect(events(await received(resumed, 1), 'modelVersionRegistered')).toEqual([second]);
    resumed.stop();
  });

  it('streams a node that stops answering going NOT_READY, then DOWN', async () => {
    const connection = connect(touchline.url);
    clients.push(connection);
    const watched = subscribe(connection, NODE_UPDATED, { filter: { names: ['node-p'] } });
    await settle();
    agent = await startAgent(touchline, { name: 'node-p', joinToken: await createJoinToken(touchline) });
    await received(watched, 1);
    await stopAgent(agent);
    agent = undefined;

    const changes = events(await watched.until((all) => all.at(-1)?.data?.nodeUpdated.status === 'DOWN'), 'nodeUpdated');
    expect(changes[0].status).toBe('READY');
    expect(changes.slice(-2).map((node) => node.status)).toEqual(['NOT_READY', 'DOWN']);
    expect(increasing(changes.map((node) => node.sequence))).toBe(true);
    watched.stop();
  });
});
