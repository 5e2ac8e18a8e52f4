// Metrics on PostgreSQL: the same reports, aggregations, node metrics and compaction as on SQLite, through the SQL
// that differs between the two (placeholders, the service's own schema, bigint times, upserts of rollups).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactMetrics } from '../../subgraphs/monitoring/metrics/compaction';
import { reportSamples } from '../../subgraphs/monitoring/metrics/ingestion';
import { startTestPlatform, type TestPlatform } from '../support/platform';

const REPORT = `mutation($input: ReportMetricsInput!) { reportMetrics(input: $input) { accepted rejected { index field } userErrors { message } } }`;
const SERIES = `query($name: String!, $from: DateTime!, $to: DateTime!, $step: Int, $aggregation: MetricAggregation) {
  metricSeries(name: $name, from: $from, to: $to, step: $step, aggregation: $aggregation) { labels { key value } points { at value } }
}`;
const model = [
  { key: 'model', value: 'xg-shot-model' },
  { key: 'version', value: '2.0.0' },
];

describe('metrics on PostgreSQL', () => {
  let touchline: TestPlatform;
  beforeAll(async () => {
    touchline = await startTestPlatform('postgres');
  });
  afterAll(async () => {
    await touchline?.destroy();
  });

  it('stores a mixed batch, reads it back per step, and still reads it after compaction', async () => {
    const base = Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60_000;
    const at = (seconds: number) => new Date(base + seconds * 1000).toISOString();
    const report = await touchline.gql(REPORT, {
      input: {
        samples: [
          { name: 'rows_scored_per_second', labels: model, value: 100, at: at(0) },
          { name: 'rows_scored_per_second', labels: model, value: 'NaN', at: at(1) },
          { name: 'rows_scored_per_second', labels: model, value: 300, at: at(30) },
          { name: 'rows_scored_per_second', labels: model, value: 50, at: at(70) },
        ],
      },
    });
    expect(report.data?.reportMetrics).toEqual({ accepted: 3, rejected: [{ index: 1, field: 'value' }], userErrors: [] });
    // In the compact form: a sample already stored, and one repeated within the report, are refused; the rest stored.
    const labels = Object.fromEntries(model.map(({ key, value }) => [key, value]));
    const again = await touchline.gql(REPORT, {
      input: { rows: [['rows_scored_per_second', labels, 999, at(0)], ['rows_scored_per_second', labels, 200, base + 20_000], ['rows_scored_per_second', labels, 1, base + 20_000]] },
    });
    expect(again.data?.reportMetrics).toEqual({ accepted: 1, rejected: [{ index: 0, field: 'at' }, { index: 2, field: 'at' }], userErrors: [] });
    const range = { name: 'rows_scored_per_second', from: at(0), to: at(120), step: 60 };
    const values = async (aggregation: string) =>
      (await touchline.gql(SERIES, { ...range, aggregation })).data?.metricSeries[0].points.map((p: { value: number }) => p.value);
    expect(await values('AVG')).toEqual([200, 50]);
    expect(await values('LAST')).toEqual([300, 50]);
    expect(await values('COUNT')).toEqual([3, 1]);

    // Samples from two days ago, stored as the service saw them then, become rollups merged with nothing else.
    const db = touchline.platform.subgraphs.find((subgraph) => subgraph.name === 'monitoring')!.db;
    const settings = { metricsRawRetentionHours: 24, metricsRollupRetentionDays: 30 };
    const then = Math.floor((Date.now() - 2 * 86_400_000) / 60_000) * 60_000;
    const old = [5, 7, 9].map((value, i) => ({ name: 'rows_scored_per_second', labels: model, value, at: new Date(then + i * 15_000) }));
    await db.transaction((em) => reportSamples(em, { samples: old }, { kind: 'model' }, settings, then + 60_000));
    expect(await compactMetrics(db, settings)).toEqual({ rolledUp: 3, expired: 0 });
    const rolled = await touchline.gql(SERIES, {
      name: 'rows_scored_per_second',
      from: new Date(then).toISOString(),
      to: new Date(then + 60_000).toISOString(),
      step: 60,
      aggregation: 'LAST',
    });
    expect(rolled.data?.metricSeries[0].points).toEqual([{ at: new Date(then).toISOString(), value: 9 }]);
    const avg = await touchline.gql(SERIES, { name: 'rows_scored_per_second', from: new Date(then).toISOString(), to: new Date(then + 60_000).toISOString(), step: 60 });
    expect(avg.data?.metricSeries[0].points[0].value).toBe(7);
    // The recent samples are still raw.
    expect(await values('COUNT')).toEqual([3, 1]);
  });
});
