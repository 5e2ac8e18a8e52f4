// Event streams: what clients watch (jobs, nodes, the registry's models) as an ordered, numbered log in the owning
// service's database. A change appends its events in the transaction that makes it, so an event exists exactly when
// its change does. Numbers are handed out just before commit, under the lock of the stream's head row: transactions
// that append to a stream commit in the order of their numbers, so a reader that has seen number N has seen every
// event before N, on SQLite and on PostgreSQL with several instances writing. The log is what a resuming client
// replays; between processes a bus only rings a doorbell (see bus.ts).
import { Column, Entity, PrimaryColumn, type EntityManager, type EntityTarget } from 'typeorm';
import { atCommit, Database } from '../db/database';
import { insertRows } from '../db/bulk-writes';

@Entity('stream_head')
export class StreamHead {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  stream!: string;

  /** The number of the stream's newest committed event (0 before the first). */
  @Column({ type: 'bigint' })
  sequence!: number;
}

/** A stream's event as stored: a row of the stream's own table, numbered by `sequence`. */
export interface StreamRow {
  sequence: number;
}

export interface StreamDefinition<TRow extends StreamRow> {
  /** The stream's name, as the bus and the head row know it: `jobs`, `nodes`, `models`. */
  name: string;
  /** The table that holds the stream's events, with an indexed `sequence` column. */
  entity: EntityTarget<TRow>;
}

interface PendingAppend {
  rows: StreamRow[];
}

const pendingAppends = new WeakMap<EntityManager, Map<string, PendingAppend>>();

/**
 * Appends `rows` (without their sequence, which the commit gives them) to `stream` as part of the transaction `em`
 * belongs to. They are written, numbered in the order appended, as the transaction's last statements; once it has
 * committed, the database's bus announces the stream's new head.
 */
export function appendToStream<TRow extends StreamRow>(em: EntityManager, stream: StreamDefinition<TRow>, rows: readonly TRow[]): void {
  if (rows.length === 0) return;
  let byStream = pendingAppends.get(em);
  if (!byStream) pendingAppends.set(em, (byStream = new Map()));
  let pending = byStream.get(stream.name);
  if (!pending) byStream.set(stream.name, (pending = { rows: [] }));
  pending.rows.push(...rows);
  const append = pending;
  let head = 0;
  atCommit(
    em,
    `stream:${stream.name}`,
    async () => {
      head = await advanceHead(em, stream.name, append.rows.length);
      const first = head - append.rows.length + 1;
      append.rows.forEach((row, index) => (row.sequence = first + index));
      await insertRows(em, stream.entity, append.rows as TRow[]);
    },
    () => Database.of(em).bus.announce(stream.name, head),
  );
}

/** Moves the stream's head on by `count` under its row lock (held to commit) and returns the new head. */
async function advanceHead(em: EntityManager, stream: string, count: number): Promise<number> {
  const { driver } = em.connection;
  const table = em.connection
    .getMetadata(StreamHead)
    .tablePath.split('.')
    .map((part) => driver.escape(part))
    .join('.');
  const postgres = driver.options.type === 'postgres';
  const [a, b] = postgres ? ['$1', '$2'] : ['?', '?'];
  const rows = (await em.query(
    `INSERT INTO ${table} (stream, sequence) VALUES (${a}, ${b})
     ON CONFLICT (stream) DO UPDATE SET sequence = ${table.split('.').at(-1)}.sequence + excluded.sequence
     RETURNING sequence`,
    [stream, count],
  )) as { sequence: number | string }[];
  return Number(rows[0]!.sequence);
}

/** The stream's head: the number of its newest committed event. */
export async function readHead(em: EntityManager, stream: string): Promise<number> {
  const head = await em.findOne(StreamHead, { where: { stream } });
  return head ? Number(head.sequence) : 0;
}

/** Up to `limit` events after `after`, oldest first. */
export function readAfter<TRow extends StreamRow>(em: EntityManager, stream: StreamDefinition<TRow>, after: number, limit: number): Promise<TRow[]> {
  return em
    .createQueryBuilder(stream.entity, 'event')
    .where('event.sequence > :after', { after })
    .orderBy('event.sequence', 'ASC')
    .limit(limit)
    .getMany();
}

/** The oldest event number a resuming reader may still ask for, given how far back replay goes. */
export function oldestReplayable(head: number, replayWindow: number): number {
  return Math.max(0, head - replayWindow);
}
