// Stores reported samples: each is checked on its own, the good ones are written in bulk, and every refused one is
// named with why, so one bad value does not cost a node its whole report.
import { In, type EntityManager } from 'typeorm';
import type { MonitoringSettings } from '../../../common/config';
import { insertRows } from '../../../common/db/bulk-writes';
import { reject, succeed, UserErrorCode, userError, type Outcome } from '../../../common/graphql/types';
import { MetricSample } from './metric.entity';
import { checkSample, METRIC_LIMITS, type MetricSampleInput, type SampleRules } from './metric.inputs';
import { RejectedSample } from './metric.payloads';
import { resolveSeries, seriesFingerprint } from './series';

/** Who reports: a node agent (its samples carry its own `node` label) or a person or job (model metrics). */
export type Reporter = { kind: 'node'; nodeId: string } | { kind: 'model' };

export interface ReportResult {
  accepted: number;
  rejected: RejectedSample[];
}

/** Bound parameters per lookup of stored samples: series, and their times. */
const SERIES_CHUNK = 500;
const TIMES_CHUNK = 5_000;

/** Checks and stores `samples`, measured no later than `now` (epoch milliseconds) give or take clock skew. */
export async function reportSamples(
  em: EntityManager,
  samples: readonly MetricSampleInput[],
  reporter: Reporter,
  settings: Pick<MonitoringSettings, 'metricsRawRetentionHours'>,
  now = Date.now(),
): Promise<Outcome<ReportResult>> {
  if (samples.length > METRIC_LIMITS.samplesPerReport) {
    return reject(
      userError('samples', `must be at most ${METRIC_LIMITS.samplesPerReport} per report (got ${samples.length}): send them in several`, UserErrorCode.TOO_LARGE),
    );
  }
  const rules: SampleRules = {
    now,
    oldest: now - settings.metricsRawRetentionHours * 3_600_000,
    requiredLabels: reporter.kind === 'model' ? ['model', 'version'] : [],
    forcedLabels: reporter.kind === 'node' ? { node: reporter.nodeId } : {},
  };
  const rejected: RejectedSample[] = [];
  const refuse = (index: number, field: string, reason: string) => rejected.push(Object.assign(new RejectedSample(), { index, field, reason }));

  const series = new Map<string, { name: string; labels: Record<string, string> }>();
  const accepted: { index: number; fingerprint: string; at: number; value: number }[] = [];
  const seen = new Set<string>();
  samples.forEach((sample, index) => {
    const checked = checkSample(sample, rules);
    if ('reason' in checked) return refuse(index, checked.field, checked.reason);
    const fingerprint = seriesFingerprint(checked.name, checked.labels);
    const key = `${fingerprint}@${checked.at}`;
    if (seen.has(key)) return refuse(index, 'at', 'repeats an earlier sample of this report: one sample per series and time');
    seen.add(key);
    series.set(fingerprint, { name: checked.name, labels: checked.labels });
    accepted.push({ index, fingerprint, at: checked.at, value: checked.value });
  });
  if (accepted.length === 0) return succeed({ accepted: 0, rejected });

  const ids = await resolveSeries(em, series);
  const rows = accepted.map((sample) => Object.assign(new MetricSample(), { seriesId: ids.get(sample.fingerprint)!, at: sample.at, value: sample.value }));
  const stored = await storedTimes(em, rows);
  const fresh = rows.filter((row, i) => {
    if (!stored.has(`${row.seriesId}@${row.at}`)) return true;
    refuse(accepted[i]!.index, 'at', 'this series already has a sample at this time');
    return false;
  });
  await insertRows(em, MetricSample, fresh);
  rejected.sort((a, b) => a.index - b.index);
  return succeed({ accepted: fresh.length, rejected });
}

/**
 * Which of `rows` already have a stored sample (series and time), as `seriesId@at`: looked up by their series and
 * exact times, a few hundred series at a time, so a report spanning hours does not read every sample in between.
 */
async function storedTimes(em: EntityManager, rows: readonly MetricSample[]): Promise<Set<string>> {
  const timesBySeries = new Map<string, Set<number>>();
  for (const row of rows) {
    const times = timesBySeries.get(row.seriesId) ?? new Set<number>();
    times.add(row.at);
    timesBySeries.set(row.seriesId, times);
  }
  const seriesIds = [...timesBySeries.keys()];
  const stored = new Set<string>();
  for (let offset = 0; offset < seriesIds.length; offset += SERIES_CHUNK) {
    const chunk = seriesIds.slice(offset, offset + SERIES_CHUNK);
    const times = [...new Set(chunk.flatMap((id) => [...timesBySeries.get(id)!]))];
    for (let t = 0; t < times.length; t += TIMES_CHUNK) {
      const found = await em.find(MetricSample, {
        select: { seriesId: true, at: true },
        where: { seriesId: In(chunk), at: In(times.slice(t, t + TIMES_CHUNK)) },
      });
      for (const row of found) stored.add(`${row.seriesId}@${row.at}`);
    }
  }
  return stored;
}
