// The README's first session works as printed: every GraphQL block in it runs, in order, without errors.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createJoinToken, startAgent, stopAgent, waitForJob, type TestAgent } from './support/agents';
import { ADMIN_KEY, startTestPlatform, type TestPlatform } from './support/platform';
import { connect, subscribe, type TestSubscription } from './support/subscriptions';

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]!);

let touchline: TestPlatform;
let agent: TestAgent;
beforeAll(async () => {
  touchline = await startTestPlatform('sqlite', { env: { TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: '1' } });
  // As with `npm start`: a local node with the process runtime.
  agent = await startAgent(touchline, { name: 'laptop', joinToken: await createJoinToken(touchline) });
});
afterAll(async () => {
  if (agent) await stopAgent(agent);
  await touchline?.destroy();
});

it('has a first session to follow', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(10);
});

it('runs every GraphQL block of the README in order, with no error and no userErrors', async () => {
  const subscriptions: (TestSubscription & { watchesJobs: boolean })[] = [];
  for (const block of blocks) {
    if (/^\s*subscription\b/.test(block)) {
      // Subscriptions run over the WebSocket, as the README says; they must see the job submitted below.
      subscriptions.push(Object.assign(subscribe(connect(touchline.url), block), { watchesJobs: /\bjobUpdated\b/.test(block) }));
      continue;
    }
    const result = await touchline.gql(block);
    expect(result.errors, block).toBeUndefined();
    for (const payload of Object.values(result.data ?? {})) {
      if (payload && typeof payload === 'object' && 'userErrors' in payload) expect(payload.userErrors, block).toEqual([]);
    }
  }
  const champion = await touchline.gql(`{ modelVersion(model: "xg", alias: "champion") { version } model(name: "xg") { productionVersion { version } } }`);
  expect(champion.data).toEqual({ modelVersion: { version: '1.0.0' }, model: { productionVersion: { version: '1.0.0' } } });

  // The job the README submits runs on the local node and prints its result.
  const job = (await touchline.gql(`{ jobs(first: 1) { nodes { id } } }`)).data?.jobs.nodes[0];
  await waitForJob(touchline, job.id, (j) => j.state === 'SUCCEEDED');
  const logs = await touchline.gql(`query($id: ID!) { job(id: $id) { logs { text } } }`, { id: job.id });
  expect(logs.data?.job.logs).toEqual([{ text: 'xG for 4 shots: 1.21' }]);

  // Each job subscription of the README, run after the first session, sees a job of the "xg" model go through.
  expect(subscriptions.length).toBeGreaterThan(0);
  const again = await touchline.gql(`mutation { submitJob(input: {modelVersion: {model: "xg", version: "1.2.0-local"}}) { job { id } } }`);
  await waitForJob(touchline, again.data?.submitJob.job.id, (j) => j.state === 'SUCCEEDED');
  for (const subscription of subscriptions.filter((one) => one.watchesJobs)) {
    const results = await subscription.until((all) => all.some((r) => JSON.stringify(r.data ?? {}).includes('SUCCEEDED')));
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    subscription.stop();
  }
  // The others (alerts) saw nothing to tell here, but were taken without an error.
  for (const subscription of subscriptions.filter((one) => !one.watchesJobs)) {
    expect(subscription.ended).toBeUndefined();
    expect(subscription.results.flatMap((r) => r.errors ?? [])).toEqual([]);
    subscription.stop();
  }
});

it('runs the README\'s subscription script, which prints each change as it happens', async () => {
  const script = /```js\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Subscriptions')))?.[1];
  expect(script).toBeDefined();
  // Beside package.json, so that it finds graphql-ws and ws as a user's script would after `npm install`.
  const file = path.join(__dirname, '..', `.readme-subscriber-${process.pid}.js`);
  fs.writeFileSync(file, script!.replace('ws://127.0.0.1:4000/graphql', touchline.url.replace(/^http/, 'ws')));
  const child = spawn(process.execPath, [file], { env: { PATH: process.env.PATH ?? '', TOUCHLINE_KEY: ADMIN_KEY }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // connected and subscribed
    await touchline.gql(`mutation { submitJob(input: {name: "from-the-readme-script", command: ["true"]}) { job { id } } }`);
    await expect.poll(() => output, { timeout: 15_000 }).toMatch(/name: 'from-the-readme-script'[\s\S]*state: 'PENDING'/);
    expect(output).not.toMatch(/Error/);
  } finally {
    child.kill('SIGTERM');
    fs.rmSync(file, { force: true });
  }
});
