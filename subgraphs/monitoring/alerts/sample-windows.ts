// The samples alert rules read, kept between rounds by the instance that evaluates: a round reads only the samples
// that arrived since the previous one (and those of the last `lateMs` again, for reports that arrive late), then
// drops what left the windows, so a round costs the new samples rather than every window read afresh, as
// Prometheus keeps its recent samples in memory. A metric is read whole when it is first needed, when a rule needs a
// longer window, after a gap longer than its window, and every `refreshMs` (which also picks up very late samples).
import { MoreThanOrEqual, type EntityManager } from 'typeorm';
import type { Sample, Series } from '../alerting/types';
import { StoredSeries } from '../metrics/metric.entity';
import { QUERY_LIMITS, rawSamplesOfMetric, seriesWithRawSamples } from '../metrics/query';

export interface WindowNeed {
  /** The longest window a rule on the metric reads. */
  windowMs: number;
  /** Whether a rule on it fires on absence: series with no sample in the window must come too. */
  includeSilent: boolean;
}

interface KeptSeries {
  name: string;
  labels: Readonly<Record<string, string>>;
  /** In time order. */
  points: Sample[];
}

interface MetricWindow {
  windowMs: number;
  series: Map<string, KeptSeries>;
  /** When (wall clock, epoch ms) its series were last listed: later rounds list only those created since. */
  listedAt: number;
  /** Samples up to this time (epoch ms) have been read. */
  readUntil: number;
  readWholeAt: number;
}

export interface SampleWindowOptions {
  /** How late (after its time) a sample may be stored and still be seen by the round after. */
  lateMs: number;
  /** How often each metric is read whole again. */
  refreshMs: number;
}

export const DEFAULT_WINDOW_OPTIONS: SampleWindowOptions = { lateMs: 30_000, refreshMs: 10 * 60_000 };

export class SampleWindows {
  private readonly metrics = new Map<string, MetricWindow>();

  constructor(private readonly options: SampleWindowOptions = DEFAULT_WINDOW_OPTIONS) {}

  /**
   * Each needed metric's series with their raw samples in (now - windowMs, now]; with `includeSilent`, also those with
   * no sample in the window but one still among the raw samples (what an alert on a metric's absence needs to see).
   */
  async read(em: EntityManager, needs: ReadonlyMap<string, WindowNeed>, now: number): Promise<Series[]> {
    for (const name of this.metrics.keys()) if (!needs.has(name)) this.metrics.delete(name);
    const result: Series[] = [];
    for (const [name, need] of needs) {
      const window = await this.update(em, name, need.windowMs, now);
      const silent: string[] = [];
      for (const [id, kept] of window.series) {
        if (kept.points.length > 0) result.push(kept);
        else if (need.includeSilent) silent.push(id);
      }
      if (silent.length === 0) continue;
      const stillKept = await seriesWithRawSamples(em, silent);
      for (const id of silent) if (stillKept.has(id)) result.push(window.series.get(id)!);
    }
    return result;
  }

  private async update(em: EntityManager, name: string, windowMs: number, now: number): Promise<MetricWindow> {
    const previous = this.metrics.get(name);
    const whole =
      !previous || previous.windowMs < windowMs || now - previous.readUntil > windowMs - this.options.lateMs || now - previous.readWholeAt >= this.options.refreshMs;
    const listedAt = Date.now();
    const window: MetricWindow = whole
      ? { windowMs, series: new Map(), listedAt, readUntil: now - windowMs, readWholeAt: now }
      : { ...previous!, windowMs, listedAt };
    // Series are never deleted; new ones are listed by their creation, with the margin for transactions still open.
    const createdSince = whole ? undefined : new Date(previous!.listedAt - this.options.lateMs);
    const listed = await em.find(StoredSeries, {
      select: { id: true, name: true, labels: true },
      where: createdSince ? { name, createdAt: MoreThanOrEqual(createdSince) } : { name },
      take: QUERY_LIMITS.candidates,
    });
    for (const series of listed) if (!window.series.has(series.id)) window.series.set(series.id, { name: series.name, labels: series.labels, points: [] });
    const from = whole ? now - windowMs : Math.max(now - windowMs, window.readUntil - this.options.lateMs);
    const arrived = await rawSamplesOfMetric(em, name, from, now);
    for (const [id, points] of arrived) {
      const kept = window.series.get(id);
      // A series beyond the candidates limit, or created since it was listed: the next listing brings it.
      if (kept) merge(kept.points, points);
    }
    const oldest = now - windowMs;
    for (const kept of window.series.values()) dropThrough(kept.points, oldest);
    window.readUntil = now;
    this.metrics.set(name, window);
    return window;
  }
}

/** Adds `arrived` (in time order) to `points` (in time order), skipping those already there. */
function merge(points: Sample[], arrived: readonly Sample[]): void {
  for (const point of arrived) {
    const last = points[points.length - 1];
    if (!last || point.at > last.at) {
      points.push(point);
      continue;
    }
    let low = 0;
    let high = points.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (points[middle]!.at < point.at) low = middle + 1;
      else high = middle;
    }
    if (points[low]?.at !== point.at) points.splice(low, 0, point);
  }
}

/** Removes the points at or before `oldest` (they are at the front). */
function dropThrough(points: Sample[], oldest: number): void {
  let count = 0;
  while (count < points.length && points[count]!.at <= oldest) count++;
  if (count > 0) points.splice(0, count);
}
