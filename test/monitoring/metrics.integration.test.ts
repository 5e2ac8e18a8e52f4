// Metrics through the gateway: samples reported and read back aggregated per step; a batch with bad samples keeps the
// good ones and names the bad, in either form (objects or compact rows); a full-size batch fits the default body limit
// and an oversized one is refused whole; the same mutation stores a node's own metrics for its credential, and
// refuses viewers; and compaction turns old samples into per-minute rollups that queries still read.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactMetrics } from '../../subgraphs/monitoring/metrics/compaction';
import { reportSamples } from '../../subgraphs/monitoring/metrics/ingestion';
import { createJoinToken, startAgent, stopAgent, type TestAgent } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';

const REPORT = `mutation($input: ReportMetricsInput!) {
  reportMetrics(input: $input) { accepted rejected { index field reason } userErrors { field message code } }
}`;
const SERIES = `query($name: String!, $labels: [LabelMatcherInput!], $from: DateTime!, $to: DateTime!, $step: Int, $aggregation: MetricAggregation) {
  metricSeries(name: $name, labels: $labels, from: $from, to: $to, step: $step, aggregation: $aggregation) {
    name labels { key value } points { at value }
  }
}`;

const model = [
  { key: 'model', value: 'xg-shot-model' },
  { key: 'version', value: '1.2.0' },
];

describe('metrics', () => {
  let touchline: TestPlatform;
  let agent: TestAgent | undefined;
  /** A minute boundary a few minutes ago, so every sample of a test falls in known steps. */
  const base = Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60_000;
  const at = (seconds: number) => new Date(base + seconds * 1000).toISOString();

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite');
  });
  afterAll(async () => {
    if (agent) await stopAgent(agent);
    await touchline?.destroy();
  });

  it('stores reported samples and reads them back aggregated per step', async () => {
    const values = [0.2, 0.4, 0.9, 0.1];
    const samples = values.map((value, i) => ({ name: 'model_brier_score', labels: model, value, at: at(i * 20) }));
    samples.push({ name: 'model_brier_score', labels: [...model, { key: 'split', value: 'holdout' }], value: 0.5, at: at(0) });
    const report = await touchline.gql(REPORT, { input: { samples } });
    expect(report.data?.reportMetrics).toEqual({ accepted: 5, rejected: [], userErrors: [] });

    const range = { name: 'model_brier_score', from: at(0), to: at(120), step: 60 };
    const split = { key: 'split', value: 'holdout', match: 'NE' };
    const avg = await touchline.gql(SERIES, { ...range, labels: [split] });
    expect(avg.data?.metricSeries).toEqual([
      {
        name: 'model_brier_score',
        labels: [{ key: 'model', value: 'xg-shot-model' }, { key: 'version', value: '1.2.0' }],
        points: [
          { at: at(0), value: expect.closeTo(0.5, 9) },
          { at: at(60), value: 0.1 },
        ],
      },
    ]);
    const points = async (aggregation: string) =>
      (await touchline.gql(SERIES, { ...range, labels: [split], aggregation })).data?.metricSeries[0].points.map((p: { value: number }) => p.value);
    expect(await points('MAX')).toEqual([0.9, 0.1]);
    expect(await points('MIN')).toEqual([0.2, 0.1]);
    expect(await points('COUNT')).toEqual([3, 1]);
    expect(await points('LAST')).toEqual([0.9, 0.1]);
    expect((await points('SUM'))?.[0]).toBeCloseTo(1.5, 9);

    const both = await touchline.gql(SERIES, range);
    expect(both.data?.metricSeries.map((s: { labels: unknown[] }) => s.labels.length)).toEqual([3, 2]); // by labels, as Prometheus sorts: split < version
    const holdout = await touchline.gql(SERIES, { ...range, labels: [{ key: 'split', value: 'hold.*', match: 'REGEX' }] });
    expect(holdout.data?.metricSeries).toHaveLength(1);
    expect(holdout.data?.metricSeries[0].points).toEqual([{ at: at(0), value: 0.5 }]);
  });

  it('keeps the good samples of a batch and names each bad one with why', async () => {
    const good = (value: number, seconds: number) => ({ name: 'rows_scored_per_second', labels: model, value, at: at(seconds) });
    const report = await touchline.gql(REPORT, {
      input: {
        samples: [
          good(120, 0),
          { ...good(1, 1), value: 'NaN' },
          { ...good(1, 2), value: '+Inf' },
          { ...good(1, 3), value: null },
          { ...good(1, 4), name: '9lives' },
          { ...good(1, 5), name: 'rows-per-second' },
          { ...good(1, 6), labels: [{ key: 'model', value: 'xg-shot-model' }] },
          good(140, 7),
          { ...good(1, 8), at: new Date(Date.now() + 3_600_000).toISOString() },
          { ...good(1, 9), at: new Date(Date.now() - 30 * 86_400_000).toISOString() },
          good(160, 7),
          { ...good(1, 10), labels: [...model, { key: 'model', value: 'twice' }] },
          { ...good(1, 11), labels: [...model, { key: 'bad-key', value: 'x' }] },
        ],
      },
    });
    const payload = report.data?.reportMetrics;
    expect(payload.userErrors).toEqual([]);
    expect(payload.accepted).toBe(2);
    expect(payload.rejected.map((r: { index: number; field: string }) => [r.index, r.field])).toEqual([
      [1, 'value'],
      [2, 'value'],
      [3, 'value'],
      [4, 'name'],
      [5, 'name'],
      [6, 'labels.version'],
      [8, 'at'],
      [9, 'at'],
      [10, 'at'],
      [11, 'labels.model'],
      [12, 'labels.bad-key'],
    ]);
    const reasons = payload.rejected.map((r: { reason: string }) => r.reason);
    expect(reasons[0]).toMatch(/finite.*NaN/);
    expect(reasons[1]).toMatch(/finite.*\+Inf/);
    expect(reasons[3]).toMatch(/not a metric name/);
    expect(reasons[5]).toMatch(/required/);
    expect(reasons[6]).toMatch(/future/);
    expect(reasons[7]).toMatch(/older than the raw retention/);
    expect(reasons[8]).toMatch(/repeats/);

    const stored = await touchline.gql(SERIES, { name: 'rows_scored_per_second', from: at(0), to: at(60), step: 60, aggregation: 'SUM' });
    expect(stored.data?.metricSeries[0].points).toEqual([{ at: at(0), value: 260 }]);

    // Sent again, the same samples are refused as already stored, not stored twice.
    const again = await touchline.gql(REPORT, { input: { samples: [good(120, 0)] } });
    expect(again.data?.reportMetrics).toMatchObject({ accepted: 0, rejected: [{ index: 0, field: 'at', reason: expect.stringMatching(/already has a sample/) }] });
  });

  it('takes the compact form, checking each row as a sample and naming the bad ones', async () => {
    const labels = { model: 'xg-shot-model', version: '1.2.0' };
    const report = await touchline.gql(REPORT, {
      input: {
        rows: [
          ['rows_per_batch', labels, 10, base + 1_000],
          ['rows_per_batch', labels, 20, at(2)],
          ['rows_per_batch', labels, 30, new Date(base + 3_000).toISOString().replace('Z', '+00:00')],
          'rows_per_batch',
          ['rows_per_batch', labels],
          [42, labels, 1, base],
          ['rows_per_batch', [{ key: 'model', value: 'xg-shot-model' }], 1, base],
          ['rows_per_batch', { ...labels, split: 7 }, 1, base],
          ['rows_per_batch', labels, '-Inf', base],
          ['rows_per_batch', labels, 1, '2026-02-30T12:00:00Z'],
          ['rows_per_batch', labels, 1, base + 0.5],
          ['rows_per_batch', { model: 'xg-shot-model' }, 1, base],
          ['rows_per_batch', labels, 40],
        ],
      },
    });
    const payload = report.data?.reportMetrics;
    expect(payload.userErrors).toEqual([]);
    expect(payload.rejected.map((r: { index: number; field: string }) => [r.index, r.field])).toEqual([
      [3, 'row'],
      [4, 'row'],
      [5, 'name'],
      [6, 'labels'],
      [7, 'labels.split'],
      [8, 'value'],
      [9, 'at'],
      [10, 'at'],
      [11, 'labels.version'],
    ]);
    expect(payload.accepted).toBe(4);
    const stored = await touchline.gql(SERIES, { name: 'rows_per_batch', from: at(0), to: at(60), step: 60, aggregation: 'SUM' });
    expect(stored.data?.metricSeries).toEqual([{ name: 'rows_per_batch', labels: [{ key: 'model', value: 'xg-shot-model' }, { key: 'version', value: '1.2.0' }], points: [{ at: at(0), value: 60 }] }]);

    const both = await touchline.gql(REPORT, { input: { samples: [], rows: [] } });
    expect(both.data?.reportMetrics.userErrors).toEqual([{ field: ['input', 'rows'], message: expect.stringMatching(/not both/), code: 'INVALID' }]);
    const neither = await touchline.gql(REPORT, { input: {} });
    expect(neither.data?.reportMetrics.userErrors).toEqual([{ field: ['input', 'samples'], message: expect.stringMatching(/give the samples/), code: 'REQUIRED' }]);
  });

  it('accepts a full-size report of 10000 samples, with model labels, within the default body limit', async () => {
    const samples = Array.from({ length: 10_000 }, (_, i) => ({
      name: 'model_prediction_latency_seconds',
      labels: [...model, { key: 'fixture', value: `f${i % 500}` }],
      value: i / 1000,
      at: new Date(base + 1_000 + Math.floor(i / 500)).toISOString(),
    }));
    expect(JSON.stringify({ samples }).length).toBeGreaterThan(1024 * 1024);
    const report = await touchline.gql(REPORT, { input: { samples } });
    expect(report.errors).toBeUndefined();
    expect(report.data?.reportMetrics).toEqual({ accepted: 10_000, rejected: [], userErrors: [] });
  });

  it('refuses an oversized batch whole, and bounds what a query may ask for', async () => {
    // Without labels, so that the request stays within the gateway's body limit and reaches the check.
    const samples = Array.from({ length: 10_001 }, (_, i) => ({ name: 'm', value: i }));
    const report = await touchline.gql(REPORT, { input: { samples } });
    expect(report.data?.reportMetrics).toMatchObject({
      accepted: 0,
      rejected: [],
      userErrors: [{ field: ['input', 'samples'], code: 'TOO_LARGE', message: expect.stringMatching(/at most 10000/) }],
    });
    const empty = await touchline.gql(SERIES, { name: 'm', from: at(0), to: at(600) });
    expect(empty.data?.metricSeries).toEqual([]);

    const tooFine = await touchline.gql(SERIES, { name: 'm', from: at(0), to: new Date(base + 30 * 86_400_000).toISOString(), step: 1 });
    expect(tooFine.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(tooFine.errors?.[0]?.message).toMatch(/more than 11000/);
    const backwards = await touchline.gql(SERIES, { name: 'm', from: at(60), to: at(0) });
    expect(backwards.errors?.[0]?.message).toMatch(/to: must be later than from/);
  });

  it('stores a node credential\'s samples as its own node\'s, refuses its samples for another node, and refuses viewers', async () => {
    agent = await startAgent(touchline, { name: 'metrics-node', joinToken: await createJoinToken(touchline) });
    const credential = JSON.parse(fs.readFileSync(path.join(agent.stateDir, 'credential.json'), 'utf8')).credential as string;
    const nodes = await touchline.gql(`{ nodes { edges { node { id name } } } }`);
    const nodeId = nodes.data?.nodes.edges.find((e: { node: { name: string } }) => e.node.name === 'metrics-node').node.id as string;

    const now = Date.now();
    const report = await touchline.gql(
      REPORT,
      {
        input: {
          samples: [
            { name: 'node_cpu_utilization', value: 0.25, at: new Date(now - 2000).toISOString() },
            { name: 'node_cpu_utilization', value: 0.5, at: new Date(now - 1000).toISOString() },
            { name: 'gpu_temperature_celsius', labels: [{ key: 'gpu', value: '0' }, { key: 'node', value: nodeId }], value: 61 },
            { name: 'node_cpu_utilization', labels: [{ key: 'node', value: 'someone-else' }], value: 0.99 },
          ],
        },
      },
      credential,
    );
    // Node metrics need no model labels; the one naming another node is refused.
    expect(report.data?.reportMetrics).toEqual({
      accepted: 3,
      rejected: [{ index: 3, field: 'labels.node', reason: expect.stringMatching(/own metrics only/) }],
      userErrors: [],
    });
    const elsewhere = await touchline.gql(REPORT, { input: { rows: [['node_up', { node: 'someone-else' }, 1]] } }, credential);
    expect(elsewhere.data?.reportMetrics).toMatchObject({ accepted: 0, rejected: [{ index: 0, field: 'labels.node' }] });

    // An operator's samples are model metrics: without model labels they are refused, not taken for a node's.
    const asOperator = await touchline.gql(REPORT, { input: { samples: [{ name: 'node_cpu_utilization', labels: [{ key: 'node', value: nodeId }], value: 1 }] } });
    expect(asOperator.data?.reportMetrics).toMatchObject({ accepted: 0, rejected: [{ index: 0, field: 'labels.model' }] });

    // A viewer may not report at all.
    const viewerKey = (await touchline.gql(`mutation { createApiKey(input: { name: "dashboard", role: VIEWER }) { key } }`)).data?.createApiKey.key as string;
    const asViewer = await touchline.gql(REPORT, { input: { samples: [{ name: 'model_brier_score', labels: model, value: 0.2 }] } }, viewerKey);
    expect(asViewer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(asViewer.errors?.[0]?.message).toMatch(/reportMetrics needs the operator or node role; this key has the viewer role/);

    const node = await touchline.gql(`query($id: ID!) { node(id: $id) { name metrics { name labels { key value } value } } }`, { id: nodeId });
    expect(node.errors).toBeUndefined();
    expect(node.data?.node).toEqual({
      name: 'metrics-node',
      metrics: [
        { name: 'gpu_temperature_celsius', labels: [{ key: 'gpu', value: '0' }, { key: 'node', value: nodeId }], value: 61 },
        { name: 'node_cpu_utilization', labels: [{ key: 'node', value: nodeId }], value: 0.5 },
      ],
    });
    const series = await touchline.gql(SERIES, {
      name: 'node_cpu_utilization',
      labels: [{ key: 'node', value: nodeId }],
      from: new Date(now - 60_000).toISOString(),
      to: new Date(now + 1).toISOString(),
      step: 3600,
      aggregation: 'MAX',
    });
    expect(series.data?.metricSeries[0].points.map((p: { value: number }) => p.value)).toEqual([0.5]);
  });

  it('rolls samples past the raw retention into per-minute rollups that queries still read', async () => {
    const db = touchline.platform.subgraphs.find((subgraph) => subgraph.name === 'monitoring')!.db;
    const settings = { metricsRawRetentionHours: 24, metricsRollupRetentionDays: 30 };
    const now = Date.now();
    // Two days ago, as the service saw it then: minute M holds 1, 2, 3, 10; minute M+1 holds 4.
    const then = Math.floor((now - 2 * 86_400_000) / 60_000) * 60_000;
    const old = [1, 2, 3, 10].map((value, i) => ({ name: 'match_latency_seconds', labels: model, value, at: new Date(then + i * 10_000) }));
    old.push({ name: 'match_latency_seconds', labels: model, value: 4, at: new Date(then + 70_000) });
    const stored = await db.transaction((em) => reportSamples(em, { samples: old }, { kind: 'model' }, settings, then + 80_000));
    expect(stored.value).toEqual({ accepted: 5, rejected: [] });
    // Ancient rollups go entirely.
    const ancient = Math.floor((now - 40 * 86_400_000) / 60_000) * 60_000;
    await db.transaction((em) => reportSamples(em, { samples: [{ name: 'match_latency_seconds', labels: model, value: 99, at: new Date(ancient) }] }, { kind: 'model' }, settings, ancient));

    const first = await compactMetrics(db, settings, now);
    expect(first).toEqual({ rolledUp: 6, expired: 1 });
    expect(await compactMetrics(db, settings, now)).toEqual({ rolledUp: 0, expired: 0 });
    const [{ n }] = await db.manager.query(`SELECT COUNT(*) AS n FROM metric_sample s JOIN metric_series m ON m.id = s.series_id WHERE m.name = 'match_latency_seconds'`);
    expect(Number(n)).toBe(0);

    const query = (aggregation: string, step = 60) =>
      touchline.gql(SERIES, {
        name: 'match_latency_seconds',
        from: new Date(then).toISOString(),
        to: new Date(then + 120_000).toISOString(),
        step,
        aggregation,
      });
    const values = async (aggregation: string, step?: number) => (await query(aggregation, step)).data?.metricSeries[0].points.map((p: { value: number }) => p.value);
    expect(await values('AVG')).toEqual([4, 4]);
    expect(await values('MIN')).toEqual([1, 4]);
    expect(await values('MAX')).toEqual([10, 4]);
    expect(await values('COUNT')).toEqual([4, 1]);
    expect(await values('LAST')).toEqual([10, 4]);
    expect(await values('SUM', 120)).toEqual([20]);
    expect((await query('AVG')).data?.metricSeries[0].points.map((p: { at: string }) => p.at)).toEqual([
      new Date(then).toISOString(),
      new Date(then + 60_000).toISOString(),
    ]);
  });
});
