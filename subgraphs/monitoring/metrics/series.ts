// A series' identity: its name and sorted labels, and the fingerprint that finds its row.
import { createHash } from 'node:crypto';
import { In, type EntityManager } from 'typeorm';
import { insertRows } from '../../../common/db/bulk-writes';
import { newId } from '../../../common/db/ids';
import { StoredSeries } from './metric.entity';

/** Bound parameters per `IN (...)` list. */
const CHUNK = 1_000;

/** `labels` must already be sorted by key. */
export function seriesFingerprint(name: string, labels: Record<string, string>): string {
  return createHash('sha256').update(JSON.stringify([name, Object.entries(labels)])).digest('hex');
}

/** The ids of the series given by fingerprint, creating the ones not seen before. */
export async function resolveSeries(
  em: EntityManager,
  wanted: ReadonlyMap<string, { name: string; labels: Record<string, string> }>,
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const fingerprints = [...wanted.keys()];
  for (let offset = 0; offset < fingerprints.length; offset += CHUNK) {
    const rows = await em.find(StoredSeries, {
      select: { id: true, fingerprint: true },
      where: { fingerprint: In(fingerprints.slice(offset, offset + CHUNK)) },
    });
    for (const row of rows) ids.set(row.fingerprint, row.id);
  }
  const createdAt = new Date();
  const created: StoredSeries[] = [];
  for (const [fingerprint, { name, labels }] of wanted) {
    if (ids.has(fingerprint)) continue;
    const series = Object.assign(new StoredSeries(), {
      id: newId(),
      name,
      labels,
      fingerprint,
      node: labels.node ?? null,
      job: labels.job ?? null,
      createdAt,
    });
    created.push(series);
    ids.set(fingerprint, series.id);
  }
  // Two reports racing to create one series: the loser's unique violation makes the operation guard run it again.
  await insertRows(em, StoredSeries, created);
  return ids;
}
