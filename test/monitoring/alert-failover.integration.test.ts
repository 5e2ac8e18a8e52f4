// Alert evaluation fails over: two monitoring instances, each its own process, on one PostgreSQL database. Only the
// instance holding the evaluation lease evaluates (every alert changes state once, and only its log says so); when
// it is killed without a word (SIGKILL), the other takes the lease once it has expired, no sooner and within one
// interval after, and evaluates what happened since: a new alert fires and the old one resolves.
// Only monitoring runs, so requests go to each instance directly, signed as the gateway signs them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../common/auth/identity';
import { signedHeaders } from '../../common/auth/request-signature';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { freePorts, spawnTouchline, type TouchlineProcess } from '../support/processes';

const SECRET = 'failover-secret-0123456789abcdef0123456789';
const OPERATOR: Identity = { kind: 'apiKey', id: 'failover-test', name: 'failover-test', role: 'operator' };
/** Seconds between rounds; the lease is held for three rounds (LeasedLoop), so a holder may miss one or two. */
const INTERVAL_SECONDS = 1;
const LEASE_MS = 3 * INTERVAL_SECONDS * 1000;
/** What a loaded machine adds to a round and to noticing it (the rounds themselves take milliseconds here). */
const SLACK_MS = 1_500;

interface LeaseRow {
  holder: string;
  expiresAt: Date;
}

interface StateChange {
  fingerprint: string;
  from: string;
  to: string;
}

describe('alert evaluation failover (two monitoring processes, PostgreSQL)', () => {
  const instances = new Set<TouchlineProcess>();
  let database: TestDatabase;
  let sql: pg.Client;
  let dir: string;
  let urls: Map<TouchlineProcess, string>;

  const call = async (instance: TouchlineProcess, query: string, variables: Record<string, unknown> = {}) => {
    const body = JSON.stringify({ query, variables });
    const response = await fetch(urls.get(instance)!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signedHeaders(SECRET, OPERATOR, { method: 'POST', path: '/graphql', body }) },
      body,
    }).catch((error: unknown) => {
      throw new Error(`monitoring (pid ${instance.pid}) did not answer: ${String(error)}; its output:\n${instance.output()}`);
    });
    const answer = (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
    expect(answer.errors).toBeUndefined();
    return answer.data!;
  };
  const report = (instance: TouchlineProcess, version: string, value: number) =>
    call(instance, `mutation($input: ReportMetricsInput!) { reportMetrics(input: $input) { accepted userErrors { message } } }`, {
      input: { samples: [{ name: 'model_brier_score', labels: [{ key: 'model', value: 'xg' }, { key: 'version', value: version }], value }] },
    });
  const alerts = async (instance: TouchlineProcess, state: string) =>
    ((await call(instance, `query($state: AlertState) { alerts(state: $state) { labels { key value } } }`, { state })).alerts as { labels: { key: string; value: string }[] }[])
      .map((alert) => alert.labels.find((label) => label.key === 'version')?.value)
      .sort();
  const lease = async (): Promise<LeaseRow | undefined> => {
    const { rows } = await sql.query(`SELECT "holder", "expires_at" AS "expiresAt" FROM "monitoring"."metrics_lease" WHERE "name" = 'alert-evaluation'`);
    return rows[0] as LeaseRow | undefined;
  };
  /** Every change of state the alerts' history holds, oldest first, as [version, from, to]. */
  const history = async (instance: TouchlineProcess): Promise<string[][]> => {
    const known = (await call(instance, `{ alerts { fingerprint labels { key value } } }`)).alerts as { fingerprint: string; labels: { key: string; value: string }[] }[];
    const versions = new Map(known.map((alert) => [alert.fingerprint, alert.labels.find((label) => label.key === 'version')?.value ?? '?']));
    const { rows } = await sql.query(
      `SELECT "fingerprint", "from_state" AS "from", "to_state" AS "to" FROM "monitoring"."alert_event"
       WHERE "from_state" IS NOT NULL AND "to_state" IS NOT NULL ORDER BY "at", "fingerprint"`,
    );
    return (rows as StateChange[]).map((change) => [versions.get(change.fingerprint) ?? change.fingerprint, change.from, change.to]);
  };
  /** Which instances logged a change of an alert's state: only an instance evaluating can. */
  const evaluators = () => [...instances].filter((instance) => instance.output().includes('"msg":"alert changed state"'));
  const until = async <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-failover-'));
    const ports = await freePorts(2);
    urls = new Map();
    // One after the other: the first creates the schema, the second finds it.
    for (const port of ports) {
      const instance = spawnTouchline(['subgraph', 'monitoring'], {
        DATABASE_URL: database.url,
        TOUCHLINE_INTERNAL_SECRET: SECRET,
        TOUCHLINE_DATA_DIR: dir,
        TOUCHLINE_MONITORING_PORT: String(port),
        TOUCHLINE_ALERT_EVALUATION_SECONDS: String(INTERVAL_SECONDS),
        LOG_LEVEL: 'info',
      });
      instances.add(instance);
      urls.set(instance, `http://127.0.0.1:${port}/graphql`);
      await instance.waitFor(/"msg":"subgraph ready"/);
    }
  });

  afterAll(async () => {
    // Only the processes this test started, by their PIDs.
    await Promise.all([...instances].map((instance) => instance.stop()));
    await sql?.end();
    await database?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('evaluates on one instance only, and on the other within the lease time once the first is killed', async () => {
    const [first, second] = [...instances] as [TouchlineProcess, TouchlineProcess];
    const created = await call(
      first,
      `mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { alertRule { id } userErrors { field message } } }`,
      {
        input: {
          name: 'xg calibration drift',
          metric: 'model_brier_score',
          matchers: [{ label: 'model', op: '=', value: 'xg' }],
          aggregation: 'LAST',
          windowMs: 60_000,
          by: ['model', 'version'],
          comparison: 'GT',
          threshold: 0.25,
          severity: 'WARNING',
          summary: 'Brier score of {{ $labels.model }} {{ $labels.version }} is {{ $value }}',
        },
      },
    );
    expect(created.createAlertRule.userErrors).toEqual([]);
    await report(second, '1.0.0', 0.31);

    // One instance evaluates: the alert fires, seen from either instance, and only one instance's log says so.
    await until('1.0.0 to fire', async () => (await alerts(second, 'FIRING')).includes('1.0.0'));
    const holder = await until('the instance that evaluated to log it', async () => evaluators()[0]);
    const survivor = holder === first ? second : first;
    // It keeps the lease round after round: same holder, later expiry.
    const held = (await lease())!;
    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL_SECONDS * 1000));
    const stillHeld = (await lease())!;
    expect(stillHeld.holder).toBe(held.holder);
    expect(stillHeld.expiresAt.getTime()).toBeGreaterThan(held.expiresAt.getTime());
    expect(evaluators()).toEqual([holder]);
    expect(await history(survivor)).toEqual([['1.0.0', 'INACTIVE', 'FIRING']]);

    // The holder dies without giving the lease up.
    const before = (await lease())!;
    const killedAt = Date.now();
    process.kill(holder.pid, 'SIGKILL');
    await holder.exited;
    instances.delete(holder);
    // Meanwhile, 1.0.0 recovers and 1.1.0 drifts.
    await report(survivor, '1.0.0', 0.19);
    await report(survivor, '1.1.0', 0.34);

    // The survivor takes the lease once it has expired, not before, and within a round after.
    const takenOver = await until('the survivor to take the lease', async () => {
      const row = await lease();
      return row && row.holder !== before.holder ? Date.now() : undefined;
    });
    expect(takenOver).toBeGreaterThanOrEqual(before.expiresAt.getTime());
    expect(before.expiresAt.getTime() - killedAt).toBeLessThanOrEqual(LEASE_MS);
    expect(takenOver - killedAt).toBeLessThanOrEqual(LEASE_MS + INTERVAL_SECONDS * 1000 + SLACK_MS);

    // And evaluates what happened since it was killed.
    await until('1.1.0 to fire and 1.0.0 to resolve', async () => {
      const [firing, resolved] = [await alerts(survivor, 'FIRING'), await alerts(survivor, 'RESOLVED')];
      return firing.join() === '1.1.0' && resolved.join() === '1.0.0';
    });
    const evaluatedAt = Date.now();
    expect(evaluatedAt - killedAt).toBeLessThanOrEqual(LEASE_MS + 2 * INTERVAL_SECONDS * 1000 + SLACK_MS);
    expect(survivor.output()).toMatch(/"msg":"alert changed state"/);
    // Each change of state once, in order, whichever instance made it.
    const changes = await history(survivor);
    expect(changes.filter(([v]) => v === '1.0.0')).toEqual([
      ['1.0.0', 'INACTIVE', 'FIRING'],
      ['1.0.0', 'FIRING', 'RESOLVED'],
    ]);
    expect(changes.filter(([v]) => v === '1.1.0')).toEqual([['1.1.0', 'INACTIVE', 'FIRING']]);
    if (process.env.TOUCHLINE_TEST_TIMINGS) {
      console.info(`failover: lease expired ${before.expiresAt.getTime() - killedAt} ms after the kill, taken over after ${takenOver - killedAt} ms, new alerts seen after ${evaluatedAt - killedAt} ms`);
    }
  });
});
