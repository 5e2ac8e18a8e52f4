// Reducing a series' samples over a rule's window to one value; the table in types.ts (`Aggregation`) says what
// each aggregation means, for a series and for a group of them (evaluate.ts combines those). One pass over the
// window gives what every aggregation needs, so rules reading the same window with different aggregations share it.
import type { Aggregation, Sample } from './types';

/**
 * The samples of many series in one window, summed up: one column per figure, one row per series (by position), so
 * that thousands of series make a few arrays, not thousands of objects. A series without samples counts 0.
 */
export interface WindowStats {
  count: Float64Array;
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
  /** The newest sample's value. */
  last: Float64Array;
  /** How much the series rose as a counter: resets (a drop) count from zero. */
  increase: Float64Array;
  /** The oldest and newest samples' times. */
  firstAt: Float64Array;
  lastAt: Float64Array;
}

/**
 * Each series' samples in each window `now - windowMs` < at <= `now`, in the order of `windowsMs`. The windows all end
 * at `now`, so one pass backwards from each series' newest sample reads them all, each a prefix of the next longer.
 * Samples must be in ascending time order; non-finite values are skipped.
 */
export function windowStats(series: readonly { points: readonly Sample[] }[], windowsMs: readonly number[], now: number): WindowStats[] {
  const n = series.length;
  const all = windowsMs.map((): WindowStats => ({
    count: new Float64Array(n),
    sum: new Float64Array(n),
    min: new Float64Array(n),
    max: new Float64Array(n),
    last: new Float64Array(n),
    increase: new Float64Array(n),
    firstAt: new Float64Array(n),
    lastAt: new Float64Array(n),
  }));
  // Shortest first: the order in which the pass leaves them.
  const byLength = [...all.keys()].sort((a, b) => windowsMs[a]! - windowsMs[b]!);
  const froms = byLength.map((w) => now - windowsMs[w]!);
  const windows = byLength.map((w) => all[w]!);
  for (let s = 0; s < n; s++) {
    const points = series[s]!.points;
    // The storage may return more than the window, and the window is at the end.
    let i = points.length - 1;
    while (i >= 0 && points[i]!.at > now) i--;
    let count = 0;
    let sum = 0;
    let min = 0;
    let max = 0;
    let last = 0;
    let increase = 0;
    let firstAt = 0;
    let lastAt = 0;
    let newer = 0;
    for (let w = 0; w < windows.length; w++) {
      const from = froms[w]!;
      for (; i >= 0; i--) {
        const point = points[i]!;
        const at = point.at;
        if (at <= from) break;
        const value = point.value;
        if (!Number.isFinite(value)) continue;
        if (count === 0) {
          sum = min = max = last = value;
          lastAt = at;
        } else {
          sum += value;
          if (value < min) min = value;
          if (value > max) max = value;
          // A counter that went down was reset: it counted `newer` since then.
          increase += newer >= value ? newer - value : newer;
        }
        count++;
        firstAt = at;
        newer = value;
      }
      const stats = windows[w]!;
      stats.count[s] = count;
      stats.sum[s] = sum;
      stats.min[s] = min;
      stats.max[s] = max;
      stats.last[s] = last;
      stats.increase[s] = increase;
      stats.firstAt[s] = firstAt;
      stats.lastAt[s] = lastAt;
    }
  }
  return all;
}

/**
 * Each series' value by the aggregation; NaN without samples, or with fewer than two (or no time between) for RATE.
 */
export function aggregate(stats: WindowStats, aggregation: Aggregation): Float64Array {
  const { count } = stats;
  const values = new Float64Array(count.length);
  for (let s = 0; s < values.length; s++) {
    if (count[s] === 0) {
      values[s] = NaN;
      continue;
    }
    switch (aggregation) {
      case 'AVG':
        values[s] = stats.sum[s]! / count[s]!;
        break;
      case 'MIN':
        values[s] = stats.min[s]!;
        break;
      case 'MAX':
        values[s] = stats.max[s]!;
        break;
      case 'SUM':
        values[s] = stats.sum[s]!;
        break;
      case 'COUNT':
        values[s] = count[s]!;
        break;
      case 'LAST':
        values[s] = stats.last[s]!;
        break;
      case 'RATE': {
        const seconds = (stats.lastAt[s]! - stats.firstAt[s]!) / 1000;
        values[s] = seconds > 0 ? stats.increase[s]! / seconds : NaN;
        break;
      }
    }
  }
  return values;
}
