// The audit log of the whole platform: each service keeps its own, and this merges them, newest first.
// Entry ids are UUIDv7, ordered by time across services, so an id is also a cursor into the merged list.
import fetch from 'node-fetch';
import type { Identity } from '../../common/auth/identity';
import { signedHeaders } from '../../common/auth/request-signature';
import { AuditEntry } from '../../common/audit/audit-entry.entity';
import { queryAudit } from '../../common/audit/audit-log';
import { AUDIT_PATH, type AuditRequest } from '../../common/audit/audit-route';
import type { Database } from '../../common/db/database';
import { ErrorCode, TouchlineError } from '../../common/graphql/errors';

export interface AuditSource {
  service: string;
  read(request: AuditRequest, caller: Identity): Promise<AuditEntry[]>;
}

export function localAuditSource(service: string, db: Database): AuditSource {
  return {
    service,
    read: ({ since, ...request }) => queryAudit(db.manager, { ...request, since: since ? new Date(since) : undefined }),
  };
}

/** A subgraph's audit log, read over its signed internal endpoint. */
export function remoteAuditSource(service: string, graphqlUrl: string, secret: string): AuditSource {
  const url = new URL(AUDIT_PATH, graphqlUrl);
  return {
    service,
    async read(request, caller) {
      const body = JSON.stringify(request);
      const headers = { 'content-type': 'application/json', ...signedHeaders(secret, caller, { method: 'POST', path: url.pathname, body }) };
      let response;
      try {
        response = await fetch(url.href, { method: 'POST', headers, body, timeout: 10_000 });
      } catch (error) {
        throw unavailable(service, (error as Error).message);
      }
      if (!response.ok) throw unavailable(service, `HTTP ${response.status}`);
      const { entries } = (await response.json()) as { entries: (Omit<AuditEntry, 'createdAt'> & { createdAt: string })[] };
      return entries.map((entry) => Object.assign(new AuditEntry(), entry, { createdAt: new Date(entry.createdAt) }));
    },
  };
}

function unavailable(service: string, reason: string): TouchlineError {
  return new TouchlineError(`The audit log of the ${service} service cannot be read (${reason}); try again when it is up`, ErrorCode.SERVICE_UNAVAILABLE);
}

export interface AuditPage {
  entries: AuditEntry[];
  hasNextPage: boolean;
}

/** One page of the merged log: `first` entries older than `after`, from every source (or the one named). */
export async function readAuditLog(
  sources: AuditSource[],
  caller: Identity,
  request: Omit<AuditRequest, 'first'> & { first: number; service?: string | null },
): Promise<AuditPage> {
  const { service, ...query } = request;
  const chosen = service ? sources.filter((source) => source.service === service) : sources;
  const pages = await Promise.all(chosen.map((source) => source.read({ ...query, first: query.first + 1 }, caller)));
  const merged = pages.flat().sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return { entries: merged.slice(0, query.first), hasNextPage: merged.length > query.first };
}
