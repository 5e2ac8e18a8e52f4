// A model version's metrics through the gateway: model metrics reported with `model` and `version` labels show on the
// registry's ModelVersion (latest values and a short history) in the same query as the version itself, and on a
// job's version as well as the job; a page of versions costs the monitoring the same statements whatever its size.
// On SQLite and on PostgreSQL, since the versions' series are found by their label text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type DatabaseKind, type TestPlatform } from '../support/platform';

const REPORT = `mutation($input: ReportMetricsInput!) { reportMetrics(input: $input) { accepted rejected { index field reason } userErrors { message } } }`;
const VERSIONS = `query($model: String!, $first: Int!) {
  model(name: $model) {
    versions(first: $first) {
      nodes {
        version
        metrics { name labels { key value } value at }
        brier: metrics(names: ["model_brier_score"]) { value }
        metricHistory(name: "model_brier_score", last: 2) { labels { key value } points { at value } }
      }
    }
  }
}`;

interface Label {
  key: string;
  value: string;
}

describe.each<DatabaseKind>(['sqlite', 'postgres'])('model version metrics (%s)', (kind) => {
  let touchline: TestPlatform;
  let statements: string[] = [];
  /** Whole seconds a few minutes ago, so every sample is inside the raw retention and none is in the future. */
  const base = Math.floor((Date.now() - 5 * 60_000) / 1000) * 1000;
  const at = (seconds: number) => new Date(base + seconds * 1000).toISOString();
  const labels = (model: string, version: string, more: Label[] = []): Label[] => [{ key: 'model', value: model }, { key: 'version', value: version }, ...more];

  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const answer = await touchline.gql(query, variables);
    expect(answer.errors).toBeUndefined();
    return answer.data!;
  };

  beforeAll(async () => {
    touchline = await startTestPlatform(kind, {
      // No alert evaluation during the test: its reads would mix with the ones counted.
      env: { TOUCHLINE_ALERT_EVALUATION_SECONDS: '3600' },
      onQuery: (subgraph, sql) => {
        if (subgraph === 'monitoring') statements.push(sql);
      },
    });
    for (const model of ['xg-shot', 'xg']) await gql(`mutation($name: String!) { createModel(input: {name: $name}) { userErrors { message } } }`, { name: model });
    for (const version of ['1.0.0', '1.0.0-rc.1', '1.1.0', '2.0.0+build.7']) {
      await gql(`mutation($v: String!) { registerModelVersion(input: {model: "xg-shot", version: $v, command: ["true"]}) { userErrors { message } } }`, { v: version });
    }
    await gql(`mutation { registerModelVersion(input: {model: "xg", version: "1.0.0"}) { userErrors { message } } }`);

    const report = await gql(REPORT, {
      input: {
        samples: [
          // 1.0.0: three Brier scores (two splits) and a throughput; the latest of each series wins.
          { name: 'model_brier_score', labels: labels('xg-shot', '1.0.0'), value: 0.21, at: at(0) },
          { name: 'model_brier_score', labels: labels('xg-shot', '1.0.0'), value: 0.19, at: at(10) },
          { name: 'model_brier_score', labels: labels('xg-shot', '1.0.0'), value: 0.18, at: at(20) },
          { name: 'model_brier_score', labels: labels('xg-shot', '1.0.0', [{ key: 'split', value: 'holdout' }]), value: 0.24, at: at(5) },
          { name: 'model_rows_per_second', labels: labels('xg-shot', '1.0.0'), value: 1200, at: at(15) },
          // Look-alikes that are not 1.0.0 of xg-shot: a prerelease, another model whose name is a prefix, and
          // label values holding what the label text search looks for.
          { name: 'model_brier_score', labels: labels('xg-shot', '1.0.0-rc.1'), value: 0.3, at: at(20) },
          { name: 'model_brier_score', labels: labels('xg', '1.0.0'), value: 0.4, at: at(20) },
          { name: 'model_brier_score', labels: labels('xg-shot', '1.1.0', [{ key: 'note', value: '"version":"1.0.0"' }]), value: 0.17, at: at(20) },
          // 2.0.0+build.7: a version string with characters of its own.
          { name: 'model_brier_score', labels: labels('xg-shot', '2.0.0+build.7'), value: 0.16, at: at(20) },
        ],
      },
    });
    expect(report.reportMetrics).toEqual({ accepted: 9, rejected: [], userErrors: [] });
  });
  afterAll(() => touchline?.destroy());

  it("gives each version of a model its own series' latest values and recent samples, in the query that lists the versions", async () => {
    const data = await gql(VERSIONS, { model: 'xg-shot', first: 10 });
    const holdout = [{ key: 'model', value: 'xg-shot' }, { key: 'split', value: 'holdout' }, { key: 'version', value: '1.0.0' }];
    const byVersion = Object.fromEntries(data.model.versions.nodes.map((node: { version: string }) => [node.version, node]));

    expect(byVersion['1.0.0'].metrics).toEqual([
      // By name, then by labels (as Prometheus sorts them: split < version).
      { name: 'model_brier_score', labels: holdout, value: 0.24, at: at(5) },
      { name: 'model_brier_score', labels: labels('xg-shot', '1.0.0'), value: 0.18, at: at(20) },
      { name: 'model_rows_per_second', labels: labels('xg-shot', '1.0.0'), value: 1200, at: at(15) },
    ]);
    expect(byVersion['1.0.0'].brier.map((metric: { value: number }) => metric.value)).toEqual([0.24, 0.18]);
    // The last two samples of each series, oldest first.
    expect(byVersion['1.0.0'].metricHistory).toEqual([
      { labels: holdout, points: [{ at: at(5), value: 0.24 }] },
      { labels: labels('xg-shot', '1.0.0'), points: [{ at: at(10), value: 0.19 }, { at: at(20), value: 0.18 }] },
    ]);

    expect(byVersion['1.0.0-rc.1'].metrics.map((metric: { value: number }) => metric.value)).toEqual([0.3]);
    expect(byVersion['1.1.0'].metrics.map((metric: { value: number }) => metric.value)).toEqual([0.17]);
    expect(byVersion['2.0.0+build.7'].metrics.map((metric: { value: number }) => metric.value)).toEqual([0.16]);
    expect(byVersion['2.0.0+build.7'].metricHistory[0].points).toEqual([{ at: at(20), value: 0.16 }]);

    const other = await gql(`{ modelVersion(model: "xg", version: "1.0.0") { metrics { labels { key value } value } } }`);
    expect(other.modelVersion.metrics).toEqual([{ labels: labels('xg', '1.0.0'), value: 0.4 }]);
  });

  it('shows a job its own metrics and its version its metrics, both in one query', async () => {
    const submitted = await gql(`mutation { submitJob(input: {name: "score shots", modelVersion: {model: "xg-shot", version: "1.0.0"}, nodeSelector: [{key: "pool", value: "none"}]}) { job { id } userErrors { message } } }`);
    const jobId = submitted.submitJob.job.id as string;
    const jobLabels = labels('xg-shot', '1.0.0', [{ key: 'job', value: jobId }]).sort((a, b) => a.key.localeCompare(b.key));
    await gql(REPORT, {
      input: { samples: [1, 2, 3].map((i) => ({ name: 'job_rows_scored', labels: jobLabels, value: i * 100, at: at(30 + i) })) },
    });

    const data = await gql(
      `query($id: ID!) { job(id: $id) {
        metrics { name value }
        metricHistory(name: "job_rows_scored") { points { value } }
        modelVersion { version metrics(names: ["model_brier_score", "job_rows_scored"]) { name labels { key value } value } }
      } }`,
      { id: jobId },
    );
    expect(data.job.metrics).toEqual([{ name: 'job_rows_scored', value: 300 }]);
    expect(data.job.metricHistory).toEqual([{ points: [{ value: 100 }, { value: 200 }, { value: 300 }] }]);
    // The job's series carries the version's labels too, so it is one of the version's series.
    expect(data.job.modelVersion.metrics.map((metric: { name: string; value: number }) => [metric.name, metric.value])).toEqual([
      ['job_rows_scored', 300],
      ['model_brier_score', 0.24],
      ['model_brier_score', 0.18],
    ]);
  });

  it('reads the metrics of a page of versions in the same statements whatever its size', async () => {
    const statementsFor = async (first: number) => {
      statements = [];
      const data = await gql(VERSIONS, { model: 'xg-shot', first });
      expect(data.model.versions.nodes).toHaveLength(first);
      return statements.filter((sql) => /LIKE|"series_id" =|MAX\("(at|minute)"\)/.test(sql)).length;
    };
    const one = await statementsFor(1);
    expect(await statementsFor(4)).toBe(one);
    // The versions' series, their latest samples, and for the history: the series of one name, their samples.
    expect(one).toBe(4);
  });

  it('refuses a history longer than the limit', async () => {
    const answer = await touchline.gql(`{ modelVersion(model: "xg", version: "1.0.0") { metricHistory(name: "model_brier_score", last: 1000) { points { value } } } }`);
    expect(answer.errors?.[0]?.message).toMatch(/last: must be from 1 to 100/);
  });
});
