// The samples alert evaluation keeps between rounds (alerts/sample-windows.ts), against a real SQLite database: each
// round shows exactly the samples in its windows, as reading them afresh would, though it reads only what is new;
// a sample stored late (within the margin) still shows; new series show; and absent series are kept for absence rules.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../common/db/database';
import { insertRows } from '../../common/db/bulk-writes';
import { silentLogger } from '../../common/logger';
import { monitoring } from '../../subgraphs/monitoring';
import type { Series } from '../../subgraphs/monitoring/alerting/types';
import { SampleWindows } from '../../subgraphs/monitoring/alerts/sample-windows';
import { MetricSample } from '../../subgraphs/monitoring/metrics/metric.entity';
import { resolveSeries, seriesFingerprint } from '../../subgraphs/monitoring/metrics/series';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 5, 13, 18, 0, 0);

describe('sample windows kept between rounds', () => {
  let dir: string;
  let db: Database;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-windows-'));
    db = await Database.open({ location: { kind: 'sqlite', file: path.join(dir, 'monitoring.sqlite') }, entities: monitoring.entities, migrations: monitoring.migrations, logger: silentLogger });
  });
  afterAll(async () => {
    await db?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function store(node: string, samples: [at: number, value: number][]): Promise<void> {
    const labels = { node };
    const fingerprint = seriesFingerprint('node_cpu_utilization', labels);
    await db.transaction(async (em) => {
      const ids = await resolveSeries(em, new Map([[fingerprint, { name: 'node_cpu_utilization', labels }]]));
      await insertRows(em, MetricSample, samples.map(([at, value]) => Object.assign(new MetricSample(), { seriesId: ids.get(fingerprint)!, at, value })));
    });
  }

  const view = (series: Series[]) =>
    Object.fromEntries(series.map((one) => [one.labels.node, one.points.map((point) => [(point.at - T0) / 1000, point.value])]).sort());

  const needs = (windowMs: number, includeSilent = false) => new Map([['node_cpu_utilization', { windowMs, includeSilent }]]);

  it('gives each round the samples in its window, new and late ones included, reading only what is new', async () => {
    const windows = new SampleWindows({ lateMs: 30_000, refreshMs: 60 * MINUTE });
    await store('a', [[T0 - 90_000, 0.1], [T0 - 30_000, 0.2], [T0, 0.3]]);
    const first = await db.transaction((em) => windows.read(em, needs(MINUTE), T0));
    expect(view(first)).toEqual({ a: [[-30, 0.2], [0, 0.3]] });

    // 15 s later: a new sample, a late one (stored now, taken 10 s before the last round), and a new series.
    await store('a', [[T0 + 15_000, 0.4], [T0 - 10_000, 0.25]]);
    await store('b', [[T0 + 14_000, 0.9]]);
    const second = await db.transaction((em) => windows.read(em, needs(MINUTE), T0 + 15_000));
    expect(view(second)).toEqual({ a: [[-30, 0.2], [-10, 0.25], [0, 0.3], [15, 0.4]], b: [[14, 0.9]] });

    // 25 s on: what left the window is gone.
    await store('a', [[T0 + 40_000, 0.5]]);
    const third = await db.transaction((em) => windows.read(em, needs(MINUTE), T0 + 40_000));
    expect(view(third)).toEqual({ a: [[-10, 0.25], [0, 0.3], [15, 0.4], [40, 0.5]], b: [[14, 0.9]] });

    // A series with no sample in the window is left out, unless a rule fires on absence: then it comes, with no
    // points, while it has raw samples.
    const later = await db.transaction((em) => windows.read(em, needs(MINUTE), T0 + 76_000));
    expect(view(later)).toEqual({ a: [[40, 0.5]] });
    const absent = await db.transaction((em) => windows.read(em, needs(MINUTE, true), T0 + 76_000));
    expect(view(absent)).toEqual({ a: [[40, 0.5]], b: [] });

    // The same as reading afresh.
    const fresh = await db.transaction((em) => new SampleWindows().read(em, needs(MINUTE, true), T0 + 76_000));
    expect(view(fresh)).toEqual(view(absent));
  });

  it('reads a metric whole again when a rule needs a longer window', async () => {
    const windows = new SampleWindows({ lateMs: 30_000, refreshMs: 60 * MINUTE });
    await store('c', [[T0 - 5 * MINUTE, 1], [T0 - 2 * MINUTE, 2]]);
    const short = await db.transaction((em) => windows.read(em, needs(MINUTE), T0));
    expect(view(short).c).toBeUndefined();
    const long = await db.transaction((em) => windows.read(em, needs(10 * MINUTE), T0));
    expect(view(long).c).toEqual([[-300, 1], [-120, 2]]);
  });
});
