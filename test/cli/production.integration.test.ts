// Production mode: every service its own process on PostgreSQL, the gateway serving a supergraph composed
// ahead of time by `touchline compose`, and two gateway instances sharing one key store.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../support/graphql';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { freePorts, spawnTouchline, type TouchlineProcess } from '../support/processes';

describe('services in separate processes on PostgreSQL', () => {
  const processes: TouchlineProcess[] = [];
  let database: TestDatabase;
  let dir: string;
  let gateways: string[];
  const adminKey = 'production-admin-key-0123456789';

  beforeAll(async () => {
    database = await createTestDatabase();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-prod-'));
    const [gatewayA, gatewayB, registry, scheduler, monitoring] = await freePorts(5);
    const shared = {
      DATABASE_URL: database.url,
      TOUCHLINE_INTERNAL_SECRET: 'production-secret-0123456789abcdef0123456789',
      LOG_LEVEL: 'info',
      TOUCHLINE_DATA_DIR: dir,
      TOUCHLINE_REGISTRY_PORT: String(registry),
      TOUCHLINE_SCHEDULER_PORT: String(scheduler),
      TOUCHLINE_MONITORING_PORT: String(monitoring),
    };
    const supergraph = path.join(dir, 'supergraph.graphql');
    const compose = spawnTouchline(['compose', '--out', supergraph], shared);
    expect(await compose.exited).toBe(0);
    expect(fs.readFileSync(supergraph, 'utf8')).toContain(`@join__graph(name: "registry", url: "http://127.0.0.1:${registry}/graphql")`);

    for (const name of ['registry', 'scheduler', 'monitoring']) processes.push(spawnTouchline(['subgraph', name], shared));
    await Promise.all(processes.map((child) => child.waitFor(/"msg":"subgraph ready"/)));
    for (const port of [gatewayA, gatewayB]) {
      processes.push(spawnTouchline(['gateway'], { ...shared, PORT: String(port), TOUCHLINE_ADMIN_KEY: adminKey, TOUCHLINE_SUPERGRAPH_FILE: supergraph }));
    }
    await Promise.all(processes.slice(3).map((child) => child.waitFor(/"msg":"gateway listening"/)));
    gateways = [gatewayA, gatewayB].map((port) => `http://127.0.0.1:${port}/graphql`);
  });

  afterAll(async () => {
    await Promise.all(processes.map((child) => child.stop()));
    await database?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const ready = async (url: string) => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const response = await fetch(new URL('/readyz', url));
      if (response.ok) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${url} never became ready`);
  };

  it('serves the registry through either gateway, from the pinned supergraph', async () => {
    await Promise.all(gateways.map(ready));
    const [a, b] = gateways as [string, string];
    const created = await graphql(a, `mutation { createModel(input: {name: "xg"}) { model { name } userErrors { message } } }`, {}, { key: adminKey });
    expect(created.data?.createModel).toEqual({ model: { name: 'xg' }, userErrors: [] });
    const read = await graphql(b, `{ model(name: "xg") { name } }`, {}, { key: adminKey });
    expect(read.data?.model).toEqual({ name: 'xg' });
  });

  it('creates the bootstrap admin key once even though both gateways started together', async () => {
    const keys = await graphql(gateways[0]!, `{ apiKeys { totalCount nodes { name role } } }`, {}, { key: adminKey });
    expect(keys.data?.apiKeys).toEqual({ totalCount: 1, nodes: [{ name: 'bootstrap admin', role: 'ADMIN' }] });
  });

  it('shares keys between gateways: made on one, used on the other', async () => {
    const [a, b] = gateways as [string, string];
    const created = await graphql(a, `mutation { createApiKey(input: {name: "partner", role: VIEWER}) { key } }`, {}, { key: adminKey });
    const key = created.data?.createApiKey.key;
    expect((await graphql(b, `{ viewer { name role } }`, {}, { key })).data?.viewer).toEqual({ name: 'partner', role: 'VIEWER' });
  });

  it('keeps each service\'s tables in its own PostgreSQL schema', async () => {
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ table_schema: string; table_name: string }>(
        `SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('gateway', 'registry', 'scheduler', 'monitoring') ORDER BY 1, 2`,
      );
      const bySchema: Record<string, string[]> = {};
      for (const row of rows) (bySchema[row.table_schema] ??= []).push(row.table_name);
      expect(bySchema).toEqual({
        gateway: ['api_key', 'audit_entry', 'migrations'],
        monitoring: [
          'alert', 'alert_event', 'alert_rule', 'audit_entry', 'metric_rollup', 'metric_sample', 'metric_series', 'metrics_lease', 'migrations',
          'node_metrics_event', 'notification_attempt', 'notification_channel', 'notification_delivery', 'silence', 'stream_head',
        ],
        registry: ['audit_entry', 'deployment_event', 'migrations', 'model', 'model_alias', 'model_event', 'model_tag', 'model_version', 'stream_head'],
        scheduler: ['audit_entry', 'job', 'job_attempt', 'job_event', 'job_log', 'join_token', 'migrations', 'node', 'node_event', 'scheduler_lease', 'stream_head'],
      });
    } finally {
      await client.end();
    }
  });
});
