// Subscriptions in production: two gateways and two schedulers, each its own process, on PostgreSQL with Redis
// between them. Every subscriber gets every job change once and in order, whichever instance made the change;
// a scheduler restarting under a gateway does not end its clients' subscriptions; and a client whose gateway is
// killed reconnects to it with the last sequence it saw and misses nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../support/graphql';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { freePorts, spawnTouchline, type TouchlineProcess } from '../support/processes';
import { connect, subscribe, type Received } from '../support/subscriptions';

const REDIS_URL = process.env.TOUCHLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN_KEY = 'instances-admin-key-0123456789';
const ALL_JOBS = `subscription($after: String) { jobUpdated(after: $after) { id name state sequence } }`;

describe('subscriptions across two gateways and two schedulers (PostgreSQL and Redis)', () => {
  const processes = new Set<TouchlineProcess>();
  const clients: Client[] = [];
  let database: TestDatabase;
  let dir: string;
  let shared: Record<string, string>;
  let ports: { gatewayA: number; gatewayB: number; schedulerA: number; schedulerB: number };
  let gateways: [string, string];
  let redis: Redis;
  const announcements: string[] = [];

  const spawn = async (args: string[], env: Record<string, string>, ready: RegExp) => {
    const child = spawnTouchline(args, { ...shared, ...env });
    processes.add(child);
    await child.waitFor(ready);
    return child;
  };
  const startScheduler = (port: number) => spawn(['subgraph', 'scheduler'], { TOUCHLINE_SCHEDULER_PORT: String(port) }, /"msg":"subgraph ready"/);
  const startGateway = (port: number, schedulerPort: number) =>
    spawn(
      ['gateway'],
      { PORT: String(port), TOUCHLINE_ADMIN_KEY: ADMIN_KEY, TOUCHLINE_SCHEDULER_URL: `http://127.0.0.1:${schedulerPort}/graphql` },
      /"msg":"gateway listening"/,
    );
  const kill = async (child: TouchlineProcess, signal: NodeJS.Signals = 'SIGTERM') => {
    process.kill(child.pid, signal);
    await child.exited;
    processes.delete(child);
  };
  const client = (url: string) => {
    const made = connect(url, ADMIN_KEY);
    clients.push(made);
    return made;
  };
  const ready = async (url: string) => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const response = await fetch(new URL('/readyz', url)).catch(() => undefined);
      if (response?.ok) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${url} never became ready`);
  };
  /** Submits `count` jobs and cancels each (two changes per job), through the gateways in turn: both instances write. */
  const churn = async (prefix: string, count: number, through: readonly string[] = gateways) => {
    for (let i = 0; i < count; i++) {
      const submitted = await graphql(through[i % through.length]!, `mutation($name: String!) { submitJob(input: {name: $name, command: ["true"], nodeSelector: [{key: "pool", value: "none"}]}) { job { id } } }`, { name: `${prefix}-${i}` }, { key: ADMIN_KEY });
      const id = submitted.data?.submitJob.job.id as string;
      expect(id).toBeDefined();
      await graphql(through[(i + 1) % through.length]!, `mutation($id: ID!) { cancelJob(input: {id: $id}) { job { state } } }`, { id }, { key: ADMIN_KEY });
    }
  };
  const changes = (results: Received[], prefix: string) =>
    results.map((r) => r.data?.jobUpdated as { name: string; state: string; sequence: string }).filter((e) => e?.name.startsWith(prefix));

  beforeAll(async () => {
    database = await createTestDatabase();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-instances-'));
    const [gatewayA, gatewayB, schedulerA, schedulerB, registry, monitoring] = await freePorts(6);
    ports = { gatewayA: gatewayA!, gatewayB: gatewayB!, schedulerA: schedulerA!, schedulerB: schedulerB! };
    shared = {
      DATABASE_URL: database.url,
      REDIS_URL,
      TOUCHLINE_INTERNAL_SECRET: 'instances-secret-0123456789abcdef0123456789',
      LOG_LEVEL: 'info',
      TOUCHLINE_DATA_DIR: dir,
      TOUCHLINE_REGISTRY_PORT: String(registry),
      TOUCHLINE_MONITORING_PORT: String(monitoring),
      TOUCHLINE_COMPOSE_POLL_SECONDS: '0',
    };
    redis = new Redis(REDIS_URL);
    redis.on('pmessage', (_pattern: string, channel: string) => announcements.push(channel));
    await redis.psubscribe('touchline:stream:scheduler:*');

    await Promise.all([
      spawn(['subgraph', 'registry'], {}, /"msg":"subgraph ready"/),
      spawn(['subgraph', 'monitoring'], {}, /"msg":"subgraph ready"/),
      startScheduler(ports.schedulerA),
    ]);
    await startScheduler(ports.schedulerB);
    await startGateway(ports.gatewayA, ports.schedulerA);
    await startGateway(ports.gatewayB, ports.schedulerB);
    gateways = [`http://127.0.0.1:${ports.gatewayA}/graphql`, `http://127.0.0.1:${ports.gatewayB}/graphql`];
    await Promise.all(gateways.map(ready));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await Promise.all([...processes].map((child) => child.stop()));
    await redis?.quit();
    await database?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives every subscriber on either gateway every change once, in order, whichever instance made it', async () => {
    const subscribers = [subscribe(client(gateways[0]), ALL_JOBS), subscribe(client(gateways[0]), ALL_JOBS), subscribe(client(gateways[1]), ALL_JOBS), subscribe(client(gateways[1]), ALL_JOBS)];
    await new Promise((resolve) => setTimeout(resolve, 500));
    await churn('fanout', 10);
    for (const subscriber of subscribers) {
      await subscriber.until((results) => changes(results, 'fanout').length >= 20);
    }
    const seen = subscribers.map((s) => changes(s.results, 'fanout'));
    for (const events of seen) {
      // The jobs stream numbers every change; nothing else changed jobs meanwhile, so the numbers run without a gap.
      const numbers = events.map((e) => Number(e.sequence));
      expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
      expect(events).toEqual(seen[0]);
    }
    expect(seen[0]!.map((e) => e.state)).toEqual(Array.from({ length: 10 }, () => ['PENDING', 'CANCELLED']).flat());
    // The schedulers rang the doorbell through Redis (so the other instance read the change at once).
    expect(announcements.some((channel) => channel.endsWith(':jobs'))).toBe(true);
    for (const subscriber of subscribers) subscriber.stop();
  });

  it('shows a job from PENDING to SUCCEEDED with its model and node, on one gateway, while another made and ran it', async () => {
    const admin = (query: string, variables: Record<string, unknown> = {}) => graphql(gateways[0], query, variables, { key: ADMIN_KEY });
    await admin(`mutation { createModel(input: {name: "win-probability"}) { userErrors { message } } }`);
    await admin(`mutation { registerModelVersion(input: {model: "win-probability", version: "2.0.0", command: ["sh", "-c", "echo 0.61"]}) { userErrors { message } } }`);
    const token = (await admin(`mutation { createJoinToken(input: {name: "instances", maxUses: 1}) { token } }`)).data?.createJoinToken.token as string;
    const stateDir = fs.mkdtempSync(path.join(dir, 'agent-'));
    await spawn(
      ['agent', '--gateway', gateways[0], '--join-token', token, '--name', 'pitch-side', '--runtimes', 'process', '--cpu-millicores', '2000', '--memory-mib', '2048', '--gpus', '', '--state-dir', stateDir],
      {},
      /"msg":"agent running"/,
    );

    const watcher = subscribe(
      client(gateways[1]),
      `subscription { jobUpdated(filter: {model: "win-probability"}) { state node { name } modelVersion { version model { name } } } }`,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    await admin(`mutation { submitJob(input: {modelVersion: {model: "win-probability", version: "2.0.0"}}) { job { id } } }`);
    const results = await watcher.until((all) => all.some((r) => r.data?.jobUpdated.state === 'SUCCEEDED'), 30_000);
    const events = results.map((r) => r.data?.jobUpdated as { state: string; node: { name: string } | null; modelVersion: unknown });
    expect(events.map((e) => e.state)).toEqual(['PENDING', 'SCHEDULED', 'STARTING', 'RUNNING', 'SUCCEEDED']);
    for (const event of events) expect(event.modelVersion).toEqual({ version: '2.0.0', model: { name: 'win-probability' } });
    expect(events.slice(1, 4).map((e) => e.node?.name)).toEqual(['pitch-side', 'pitch-side', 'pitch-side']);
    watcher.stop();
  });

  it('keeps a subscription going while the scheduler under its gateway restarts', async () => {
    const subscriber = subscribe(client(gateways[1]), ALL_JOBS);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await churn('before-restart', 2);
    await subscriber.until((results) => changes(results, 'before-restart').length >= 4);

    const schedulerB = [...processes].find((child) => child.output().includes(`${ports.schedulerB}`) && child.output().includes('subgraph ready'));
    expect(schedulerB).toBeDefined();
    await kill(schedulerB!, 'SIGKILL');
    // Changes made through the other gateway while this one's scheduler is down are not lost to its subscriber.
    await graphql(gateways[0], `mutation { submitJob(input: {name: "during-restart", command: ["true"], nodeSelector: [{key: "pool", value: "none"}]}) { job { id } } }`, {}, { key: ADMIN_KEY });
    await startScheduler(ports.schedulerB);
    await churn('after-restart', 2);
    const results = await subscriber.until((all) => changes(all, 'after-restart').length >= 4, 30_000);
    expect(subscriber.ended).toBeUndefined();
    const all = results.map((r) => r.data?.jobUpdated as { name: string; sequence: string });
    const numbers = all.map((e) => Number(e.sequence));
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
    expect(all.map((e) => e.name)).toContain('during-restart');
    subscriber.stop();
  });

  it('lets a client whose gateway was killed resume from the last sequence it saw, missing nothing', async () => {
    const first = subscribe(client(gateways[1]), ALL_JOBS);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await churn('resume-a', 3);
    const before = changes(await first.until((results) => changes(results, 'resume-a').length >= 6), 'resume-a');
    const last = before.at(-1)!.sequence;

    const gatewayB = [...processes].find((child) => child.output().includes(`"url":"http://127.0.0.1:${ports.gatewayB}/graphql"`));
    expect(gatewayB).toBeDefined();
    await kill(gatewayB!, 'SIGKILL');
    await churn('resume-b', 3, [gateways[0]]); // while B is down
    await startGateway(ports.gatewayB, ports.schedulerB);
    await ready(gateways[1]);

    const resumed = subscribe(client(gateways[1]), ALL_JOBS, { after: last });
    await churn('resume-c', 1);
    const results = await resumed.until((all) => changes(all, 'resume-c').length >= 2, 30_000);
    const events = results.map((r) => r.data?.jobUpdated as { name: string; sequence: string });
    const numbers = events.map((e) => Number(e.sequence));
    expect(numbers[0]).toBe(Number(last) + 1);
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
    expect(changes(results, 'resume-b').map((e) => e.name)).toEqual(['resume-b-0', 'resume-b-0', 'resume-b-1', 'resume-b-1', 'resume-b-2', 'resume-b-2']);
    resumed.stop();
  });
});
