// The `touchline` command as people run it: `touchline up` on a laptop (SQLite or PostgreSQL), restarts that
// keep the data, the first admin key shown once, and a bad setting refused with a message naming it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../support/graphql';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { freePorts, spawnTouchline, type TouchlineProcess } from '../support/processes';

const running = new Set<TouchlineProcess>();
afterEach(async () => {
  await Promise.all([...running].map((child) => child.stop()));
  running.clear();
});

function start(args: string[], env: Record<string, string>): TouchlineProcess {
  const child = spawnTouchline(args, env);
  running.add(child);
  return child;
}

async function portsEnv(): Promise<{ env: Record<string, string>; gateway: string }> {
  const [gateway, registry, scheduler, monitoring] = await freePorts(4);
  return {
    gateway: `http://127.0.0.1:${gateway}/graphql`,
    env: {
      PORT: String(gateway),
      TOUCHLINE_REGISTRY_PORT: String(registry),
      TOUCHLINE_SCHEDULER_PORT: String(scheduler),
      TOUCHLINE_MONITORING_PORT: String(monitoring),
    },
  };
}

describe.each(['sqlite', 'postgres'] as const)('touchline up on %s', (kind) => {
  let dataDir: string;
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-cli-'));
    if (kind === 'postgres') database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the endpoint and a first admin key once, and keeps the data across a restart', async () => {
    const { env: ports, gateway } = await portsEnv();
    const env = { ...ports, TOUCHLINE_DATA_DIR: dataDir, ...(database ? { DATABASE_URL: database.url } : {}) };

    const first = start(['up'], env);
    await first.waitFor(/Touchline is running/);
    expect(first.output()).toContain(`GraphQL endpoint and playground: ${gateway}`);
    expect(first.output()).toContain(`Subscriptions (graphql-ws): ${gateway.replace(/^http/, 'ws')}`);
    const key = (await first.waitFor(/^ {4}(tl_[A-Za-z0-9_-]+)$/m))[1]!;

    const created = await graphql(gateway, `mutation { createModel(input: {name: "xg", sport: "football"}) { model { name } userErrors { message } } }`, {}, { key });
    expect(created.data?.createModel).toEqual({ model: { name: 'xg' }, userErrors: [] });
    await graphql(gateway, `mutation { registerModelVersion(input: {model: "xg", version: "1.0.0"}) { userErrors { message } } }`, {}, { key });
    await graphql(gateway, `mutation { setModelAlias(input: {model: "xg", alias: "champion", version: "1.0.0"}) { userErrors { message } } }`, {}, { key });
    expect(await first.stop()).toBe(0);
    if (kind === 'sqlite') {
      expect(fs.readdirSync(dataDir).filter((file) => file.endsWith('.sqlite')).sort()).toEqual([
        'gateway.sqlite', 'monitoring.sqlite', 'registry.sqlite', 'scheduler.sqlite',
      ]);
    }

    const second = start(['up'], env);
    await second.waitFor(/Touchline is running/);
    expect(second.output()).not.toMatch(/admin API key/);
    const after = await graphql(gateway, `{ model(name: "xg") { sport versions { nodes { version } } aliases { name } } }`, {}, { key });
    expect(after.data?.model).toEqual({ sport: 'football', versions: { nodes: [{ version: '1.0.0' }] }, aliases: [{ name: 'champion' }] });
  });
});

describe('touchline configuration', () => {
  it('stops with a message naming a bad variable and what it expects', async () => {
    const child = start(['up'], { PORT: 'not-a-port', LOG_LEVEL: 'loud' });
    expect(await child.exited).toBe(1);
    expect(child.output()).toContain('PORT: must be a port number from 0 to 65535 (got "not-a-port")');
    expect(child.output()).toContain('LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent');
  });

  it('requires the shared secret when a service runs on its own', async () => {
    const child = start(['subgraph', 'registry'], { TOUCHLINE_DATA_DIR: os.tmpdir() });
    expect(await child.exited).toBe(1);
    expect(child.output()).toMatch(/TOUCHLINE_INTERNAL_SECRET: required when services run separately/);
  });

  it('uses TOUCHLINE_ADMIN_KEY as the first admin key, without printing it; answers health checks', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-cli-'));
    try {
      const { env, gateway } = await portsEnv();
      const adminKey = 'bootstrap-key-from-the-environment-0001';
      const child = start(['up'], { ...env, TOUCHLINE_DATA_DIR: dataDir, TOUCHLINE_ADMIN_KEY: adminKey });
      await child.waitFor(/Touchline is running/);
      expect(child.output()).toContain('Created the first admin API key from TOUCHLINE_ADMIN_KEY.');
      expect(child.output()).not.toContain(adminKey);
      expect((await graphql(gateway, `{ viewer { role } }`, {}, { key: adminKey })).data?.viewer.role).toBe('ADMIN');

      // `touchline health` is what container health checks run.
      expect(await start(['health'], env).exited).toBe(0);
      expect(await start(['health', 'registry'], env).exited).toBe(0);
      await child.stop();
      const down = start(['health', 'registry'], env);
      expect(await down.exited).toBe(1);
      expect(down.output()).toMatch(/registry on 127.0.0.1:\d+ is not healthy \(no answer\)/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
