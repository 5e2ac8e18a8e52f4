// Prometheus scrapes every service: `GET /metrics` parses as the Prometheus text format (checked with a parser) and
// shows what an operator looks for — requests, errors, jobs by state, the queue, placements, nodes, subscriptions —
// and, with TOUCHLINE_METRICS_TOKEN set, answers only to that token.
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopback } from '../../common/metrics/metrics-route';
import { createJoinToken, startAgent, stopAgent, SUBMIT, waitForJob, type TestAgent } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { parsePrometheusText, type MetricFamily } from '../support/prometheus-text';
import { connect, subscribe } from '../support/subscriptions';

interface Scrape {
  status: number;
  contentType: string | null;
  families: Map<string, MetricFamily>;
}

async function scrape(port: number, token?: string): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  const families = response.ok ? parsePrometheusText(text) : new Map<string, MetricFamily>();
  return { status: response.status, contentType: response.headers.get('content-type'), families };
}

/** The samples of family `name` whose labels include `labels` (all its samples: `_bucket`, `_sum`... too). */
function samplesOf(result: Scrape, name: string, labels: Record<string, string> = {}) {
  return (result.families.get(name)?.samples ?? []).filter((sample) => Object.entries(labels).every(([label, value]) => sample.labels[label] === value));
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
function valueOf(result: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const samples = samplesOf(result, name, labels);
  if (samples.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${samples.length} series`);
  return samples[0]?.value;
}

describe('Prometheus metrics on every service', () => {
  let touchline: TestPlatform;
  let agent: TestAgent | undefined;
  let client: Client | undefined;
  const ports = (): Record<string, number> => ({
    gateway: touchline.platform.gateway.port,
    ...Object.fromEntries(touchline.platform.subgraphs.map((subgraph) => [subgraph.name, subgraph.port])),
  });

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', { env: { TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: '1' } });
  });
  afterAll(async () => {
    await client?.dispose();
    if (agent) await stopAgent(agent);
    await touchline?.destroy();
  });

  it('serves each service its own metrics, in the Prometheus text format, to a scraper on this machine', async () => {
    await touchline.gql(`{ jobs(first: 1) { totalCount } }`);
    for (const [service, port] of Object.entries(ports())) {
      const result = await scrape(port);
      expect(result.status, service).toBe(200);
      expect(result.contentType, service).toMatch(/^text\/plain; version=0\.0\.4/);
      // Process metrics, named for Touchline and labelled with the service, as each registry is the service's own.
      const cpu = result.families.get('touchline_process_cpu_user_seconds_total');
      expect(cpu?.type, service).toBe('counter');
      expect(cpu?.samples[0]?.labels).toEqual({ service });
      expect(result.families.get('touchline_http_request_duration_seconds')?.type, service).toBe('histogram');
    }
  });

  it('counts requests by route, method and status, with a latency histogram whose buckets only grow', async () => {
    const { gateway } = ports();
    const before = await scrape(gateway!);
    const requests = (result: Scrape) => valueOf(result, 'touchline_http_requests_total', { route: '/graphql', method: 'POST', status: '200' }) ?? 0;
    for (let i = 0; i < 3; i++) expect((await touchline.gql(`{ models(first: 1) { totalCount } }`)).errors).toBeUndefined();
    await fetch(`http://127.0.0.1:${gateway}/no-such-page`);
    const after = await scrape(gateway!);

    expect(requests(after) - requests(before)).toBe(3);
    // An unknown path is counted under one label, whatever the path, so that scanners cannot add series.
    expect(valueOf(after, 'touchline_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' })).toBeGreaterThanOrEqual(1);

    const series = samplesOf(after, 'touchline_http_request_duration_seconds', { route: '/graphql', method: 'POST', status: '200' });
    const buckets = series
      .filter((sample) => sample.name.endsWith('_bucket'))
      .map((sample) => [Number(sample.labels.le === '+Inf' ? Infinity : sample.labels.le), sample.value] as const)
      .sort(([a], [b]) => a - b);
    const count = series.find((sample) => sample.name.endsWith('_count'))!.value;
    const sum = series.find((sample) => sample.name.endsWith('_sum'))!.value;
    expect(buckets.length).toBeGreaterThan(5);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]![1]).toBeGreaterThanOrEqual(buckets[i - 1]![1]);
    expect(buckets.at(-1)).toEqual([Infinity, count]);
    expect(count).toBeGreaterThanOrEqual(3);
    expect(sum).toBeGreaterThan(0);
  });

  it('counts GraphQL errors at the gateway by code', async () => {
    const { gateway } = ports();
    const errors = async () => valueOf(await scrape(gateway!), 'touchline_graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' }) ?? 0;
    const before = await errors();
    const result = await touchline.gql(`{ noSuchField }`);
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await errors()) - before).toBe(1);
  });

  it('shows jobs by state, the queue, placements and connected nodes at the scheduler', async () => {
    const { scheduler } = ports();
    const start = await scrape(scheduler!);
    expect(valueOf(start, 'touchline_nodes', { status: 'READY' })).toBe(0);
    expect(valueOf(start, 'touchline_job_queue_depth')).toBe(0);

    agent = await startAgent(touchline, { name: 'metrics-node', joinToken: await createJoinToken(touchline) });
    // One job no node can take (it stays PENDING), one that runs.
    const waiting = (await touchline.gql(SUBMIT, { input: { command: ['true'], nodeSelector: [{ key: 'pool', value: 'elsewhere' }] } })).data?.submitJob.job;
    const runs = (await touchline.gql(SUBMIT, { input: { command: ['true'] } })).data?.submitJob.job;
    await waitForJob(touchline, runs.id, (job) => job.state === 'SUCCEEDED');
    expect((await waitForJob(touchline, waiting.id, () => true)).state).toBe('PENDING');

    const end = await scrape(scheduler!);
    expect(end.families.get('touchline_jobs')?.type).toBe('gauge');
    expect(valueOf(end, 'touchline_jobs', { state: 'PENDING' })).toBe(1);
    expect(valueOf(end, 'touchline_jobs', { state: 'SUCCEEDED' })).toBe(1);
    expect(valueOf(end, 'touchline_jobs', { state: 'FAILED' })).toBe(0); // every state has a series, so none vanishes
    expect(valueOf(end, 'touchline_job_queue_depth')).toBe(1);
    expect(valueOf(end, 'touchline_placements_total')).toBe(1);
    expect(valueOf(end, 'touchline_nodes', { status: 'READY' })).toBe(1);
  });

  it('shows subscriptions and WebSocket connections at the gateway', async () => {
    const { gateway } = ports();
    const read = async () => {
      const result = await scrape(gateway!);
      return {
        subscribers: valueOf(result, 'touchline_subscriptions', { kind: 'subscribers' }) ?? NaN,
        connections: valueOf(result, 'touchline_websocket_connections') ?? NaN,
        events: valueOf(result, 'touchline_subscription_events_total') ?? NaN,
      };
    };
    const before = await read(); // the agent holds a subscription of its own
    client = connect(touchline.url);
    const subscription = subscribe(client, `subscription { jobUpdated(filter: {states: [PENDING]}) { id state } }`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await touchline.gql(SUBMIT, { input: { command: ['true'], nodeSelector: [{ key: 'pool', value: 'elsewhere' }] } });
    await subscription.until((results) => results.length > 0);
    const during = await read();

    expect(during.subscribers - before.subscribers).toBe(1);
    expect(during.connections - before.connections).toBe(1);
    expect(during.events).toBeGreaterThan(before.events);
    subscription.stop();
  });
});

describe('a metrics token', () => {
  const TOKEN = 'prometheus-scrape-token-0123456789';
  let touchline: TestPlatform;
  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', { env: { TOUCHLINE_METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await touchline?.destroy();
  });

  it('lets only its bearer scrape, on the gateway and on every subgraph', async () => {
    const ports = [touchline.platform.gateway.port, ...touchline.platform.subgraphs.map((subgraph) => subgraph.port)];
    for (const port of ports) {
      expect((await scrape(port)).status).toBe(401);
      expect((await scrape(port, `${TOKEN}x`)).status).toBe(401);
      expect((await scrape(port, 'short')).status).toBe(401);
      const allowed = await scrape(port, TOKEN);
      expect(allowed.status).toBe(200);
      expect(allowed.families.get('touchline_http_requests_total')?.type).toBe('counter');
    }
  });
});

describe('the parser these tests read metrics with', () => {
  it('refuses what is not the Prometheus text format', () => {
    expect(parsePrometheusText('# TYPE x counter\nx{a="1"} 2\n').get('x')?.samples).toEqual([{ name: 'x', labels: { a: '1' }, value: 2 }]);
    for (const bad of ['x{a="1} 2\n', 'x 1 2 3\n', 'x abc\n', '# TYPE x nonsense\n', 'x{__a="1"} 1\n', 'x 1\nx 2\n', 'x 1']) {
      expect(() => parsePrometheusText(bad), bad).toThrow();
    }
  });
});

describe('without a token', () => {
  it('answers only loopback addresses', () => {
    for (const address of ['127.0.0.1', '127.0.0.53', '::1', '::ffff:127.0.0.1']) expect(isLoopback(address), address).toBe(true);
    for (const address of ['10.0.0.5', '192.168.1.2', '::ffff:10.0.0.5', 'fe80::1', '0.0.0.0', '::', undefined]) expect(isLoopback(address), address).toBe(false);
  });
});
