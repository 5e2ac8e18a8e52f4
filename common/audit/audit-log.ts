// Writing and reading a service's audit log.
import type { EntityManager } from 'typeorm';
import { newId } from '../db/ids';
import type { Identity } from '../auth/identity';
import { AuditEntry, AuditOutcome } from './audit-entry.entity';

const MAX_INPUT_CHARS = 4_096;

export interface AuditRecord {
  service: string;
  identity: Identity;
  action: string;
  outcome: AuditOutcome;
  target?: { type: string; id: string } | null;
  detail?: string | null;
  input?: unknown;
  requestId: string;
}

export async function recordAudit(manager: EntityManager, record: AuditRecord): Promise<void> {
  await manager.insert(AuditEntry, {
    id: newId(),
    service: record.service,
    actorId: record.identity.id,
    actorName: record.identity.name,
    action: record.action,
    targetType: record.target?.type ?? null,
    targetId: record.target?.id ?? null,
    outcome: record.outcome,
    detail: record.detail ?? null,
    input: shorten(record.input),
    requestId: record.requestId,
    createdAt: new Date(),
  });
}

export interface AuditQuery {
  first: number;
  /** Only entries older than this entry id (ids are time-ordered across services). */
  before?: string;
  actorId?: string;
  action?: string;
  outcome?: AuditOutcome;
  since?: Date;
}

/** Newest first. */
export function queryAudit(manager: EntityManager, query: AuditQuery): Promise<AuditEntry[]> {
  const select = manager.createQueryBuilder(AuditEntry, 'entry').orderBy('entry.id', 'DESC').take(query.first);
  if (query.before) select.andWhere('entry.id < :before', { before: query.before });
  if (query.actorId) select.andWhere('entry.actorId = :actorId', { actorId: query.actorId });
  if (query.action) select.andWhere('entry.action = :action', { action: query.action });
  if (query.outcome) select.andWhere('entry.outcome = :outcome', { outcome: query.outcome });
  if (query.since) select.andWhere('entry.createdAt >= :since', { since: query.since });
  return select.getMany();
}

function shorten(input: unknown): object | null {
  if (typeof input !== 'object' || input === null) return null;
  const text = JSON.stringify(input);
  if (text.length <= MAX_INPUT_CHARS) return input;
  return { truncated: true, preview: text.slice(0, MAX_INPUT_CHARS) };
}
