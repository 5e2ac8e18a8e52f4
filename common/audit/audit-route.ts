// `POST /internal/audit`: a subgraph's audit entries, for the gateway's `auditLog` query that merges every
// service's log. Only the gateway can call it (signed request) and only for an admin.
import { z } from 'zod';
import type { Identity } from '../auth/identity';
import { hasRole } from '../auth/identity';
import type { Database } from '../db/database';
import { MAX_PAGE_SIZE } from '../graphql/connection';
import { ErrorCode } from '../graphql/errors';
import { graphqlError, json, type HttpResponse } from '../http/server';
import { AuditOutcome } from './audit-entry.entity';
import { queryAudit } from './audit-log';

export const AUDIT_PATH = '/internal/audit';

export const auditRequest = z.object({
  // One more than the largest page, so that the gateway can tell whether another page follows.
  first: z.number().int().min(1).max(MAX_PAGE_SIZE + 1),
  before: z.string().max(64).optional(),
  actorId: z.string().max(64).optional(),
  action: z.string().max(100).optional(),
  outcome: z.enum(AuditOutcome).optional(),
  since: z.iso.datetime().optional(),
});
export type AuditRequest = z.infer<typeof auditRequest>;

export async function answerAuditRequest(db: Database, identity: Identity, body: Buffer): Promise<HttpResponse> {
  if (!hasRole(identity, 'admin')) {
    return graphqlError(403, ErrorCode.FORBIDDEN, 'The audit log needs the admin role');
  }
  let parsed;
  try {
    parsed = auditRequest.safeParse(JSON.parse(body.toString('utf8')));
  } catch {
    return graphqlError(400, ErrorCode.BAD_REQUEST, 'The request body is not valid JSON');
  }
  if (!parsed.success) return graphqlError(400, ErrorCode.BAD_USER_INPUT, parsed.error.message);
  const { since, ...query } = parsed.data;
  const entries = await queryAudit(db.manager, { ...query, since: since ? new Date(since) : undefined });
  return json(200, { entries });
}
