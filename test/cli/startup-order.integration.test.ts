// A gateway started before its subgraphs waits for them, says so, and serves once they answer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { graphql } from '../support/graphql';
import { freePorts, spawnTouchline, type TouchlineProcess } from '../support/processes';

const processes: TouchlineProcess[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-order-'));
afterAll(async () => {
  await Promise.all(processes.map((child) => child.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

it('composes the supergraph once the subgraphs come up, retrying meanwhile', async () => {
  const [gateway, registry, scheduler, monitoring] = await freePorts(4);
  const env = {
    TOUCHLINE_INTERNAL_SECRET: 'startup-order-secret-0123456789abcdef0123',
    TOUCHLINE_DATA_DIR: dir,
    TOUCHLINE_ADMIN_KEY: 'startup-order-admin-key-0123456789',
    PORT: String(gateway),
    TOUCHLINE_REGISTRY_PORT: String(registry),
    TOUCHLINE_SCHEDULER_PORT: String(scheduler),
    TOUCHLINE_MONITORING_PORT: String(monitoring),
    LOG_LEVEL: 'info',
  };
  const url = `http://127.0.0.1:${gateway}/graphql`;
  const gatewayProcess = spawnTouchline(['gateway'], env);
  processes.push(gatewayProcess);
  await gatewayProcess.waitFor(/"msg":"gateway listening"/);

  const early = await graphql(url, `{ viewer { name } }`, {}, { key: env.TOUCHLINE_ADMIN_KEY });
  expect(early.status).toBe(503);
  expect(early.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
  expect(early.errors?.[0]?.message).toMatch(/waiting for registry, scheduler, monitoring/);
  expect((await fetch(`http://127.0.0.1:${gateway}/readyz`)).status).toBe(503);
  expect((await fetch(`http://127.0.0.1:${gateway}/healthz`)).status).toBe(200);

  for (const name of ['registry', 'scheduler', 'monitoring']) processes.push(spawnTouchline(['subgraph', name], env));
  await gatewayProcess.waitFor(/Gateway successfully loaded schema/, 20_000);
  const served = await graphql(url, `{ viewer { name } models { totalCount } }`, {}, { key: env.TOUCHLINE_ADMIN_KEY });
  expect(served.data).toEqual({ viewer: { name: 'bootstrap admin' }, models: { totalCount: 0 } });
});
