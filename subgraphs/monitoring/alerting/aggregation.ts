// Reducing a series' samples over a rule's window to one value; the table in types.ts (`Aggregation`) says what
// each aggregation means, for a series and for a group of them (evaluate.ts combines those). One pass over the
// window gives what every aggregation needs, so rules reading the same window with different aggregations share it.
import type { Aggregation, Sample } from './types';

/** A series' samples in a window, summed up. */
export interface WindowStats {
  count: number;
  sum: number;
  min: number;
  max: number;
  /** The newest sample's value. */
  last: number;
  /** How much the series rose as a counter: resets (a drop) count from zero. */
  increase: number;
  /** The oldest and newest samples' times. */
  firstAt: number;
  lastAt: number;
}

/**
 * The samples in the window `from` < at <= `to`, or null when there are none. Samples must be in ascending time order;
 * non-finite values are skipped.
 */
export function windowStats(points: readonly Sample[], from: number, to: number): WindowStats | null {
  // Backwards from the newest: the storage may return more than the window, and the window is at the end.
  let i = points.length - 1;
  while (i >= 0 && points[i]!.at > to) i--;
  let stats: WindowStats | null = null;
  let newer = 0;
  for (; i >= 0; i--) {
    const point = points[i]!;
    if (point.at <= from) break;
    const value = point.value;
    if (!Number.isFinite(value)) continue;
    if (stats === null) {
      stats = { count: 1, sum: value, min: value, max: value, last: value, increase: 0, firstAt: point.at, lastAt: point.at };
    } else {
      stats.count++;
      stats.sum += value;
      if (value < stats.min) stats.min = value;
      if (value > stats.max) stats.max = value;
      // A counter that went down was reset: it counted `newer` since then.
      stats.increase += newer >= value ? newer - value : newer;
      stats.firstAt = point.at;
    }
    newer = value;
  }
  return stats;
}

/** One series' value by the aggregation; null without samples, or with fewer than two (or no time between) for RATE. */
export function aggregate(stats: WindowStats | null, aggregation: Aggregation): number | null {
  if (stats === null) return null;
  switch (aggregation) {
    case 'AVG':
      return stats.sum / stats.count;
    case 'MIN':
      return stats.min;
    case 'MAX':
      return stats.max;
    case 'SUM':
      return stats.sum;
    case 'COUNT':
      return stats.count;
    case 'LAST':
      return stats.last;
    case 'RATE': {
      const seconds = (stats.lastAt - stats.firstAt) / 1000;
      return seconds > 0 ? stats.increase / seconds : null;
    }
  }
}
