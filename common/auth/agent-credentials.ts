// Credentials of node agents, signed with the secret the gateway and the subgraphs share, so the gateway can
// verify them without a database: join tokens (`tlj_`, made by an admin, good for enrolling a node) and node
// credentials (`tln_`, given to a node when it registers, good for acting as that node only). Whether a token
// is used up or a node removed is the scheduler's to check: it owns both.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Identity } from './identity';

export const JOIN_TOKEN_PREFIX = 'tlj_';
export const NODE_CREDENTIAL_PREFIX = 'tln_';

interface JoinTokenClaims {
  /** The join token's id in the scheduler. */
  id: string;
  /** Expiry, in milliseconds since the epoch. */
  exp: number;
}

interface NodeClaims {
  /** The node's id. */
  id: string;
  name: string;
}

export function issueJoinToken(secret: string, claims: JoinTokenClaims): string {
  return sign(secret, JOIN_TOKEN_PREFIX, claims);
}

export function issueNodeCredential(secret: string, claims: NodeClaims): string {
  return sign(secret, NODE_CREDENTIAL_PREFIX, claims);
}

export function isAgentCredential(token: string): boolean {
  return token.startsWith(JOIN_TOKEN_PREFIX) || token.startsWith(NODE_CREDENTIAL_PREFIX);
}

export type AgentVerification = { identity: Identity } | { failure: string };

/** Checks an agent credential's signature (and a join token's expiry) and names who presents it. */
export function verifyAgentCredential(secret: string, token: string, now = Date.now()): AgentVerification {
  const prefix = token.startsWith(JOIN_TOKEN_PREFIX) ? JOIN_TOKEN_PREFIX : NODE_CREDENTIAL_PREFIX;
  const claims = open(secret, prefix, token);
  if (!claims) return { failure: prefix === JOIN_TOKEN_PREFIX ? 'Invalid join token' : 'Invalid node credential' };
  if (prefix === JOIN_TOKEN_PREFIX) {
    const { id, exp } = claims as Partial<JoinTokenClaims>;
    if (typeof id !== 'string' || typeof exp !== 'number') return { failure: 'Invalid join token' };
    if (exp <= now) return { failure: `This join token expired at ${new Date(exp).toISOString()}: ask an admin for a new one` };
    return { identity: { kind: 'joinToken', id, name: `join token ${id.slice(0, 8)}`, role: 'enroll' } };
  }
  const { id, name } = claims as Partial<NodeClaims>;
  if (typeof id !== 'string' || typeof name !== 'string') return { failure: 'Invalid node credential' };
  return { identity: { kind: 'node', id, name: `node ${name}`, role: 'node' } };
}

function sign(secret: string, prefix: string, claims: object): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${prefix}${payload}.${mac(secret, prefix, payload)}`;
}

function open(secret: string, prefix: string, token: string): Record<string, unknown> | undefined {
  const [payload, signature, extra] = token.slice(prefix.length).split('.');
  if (!payload || !signature || extra !== undefined) return undefined;
  const expected = Buffer.from(mac(secret, prefix, payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function mac(secret: string, prefix: string, payload: string): string {
  // The prefix is signed too, so a node credential can never pass for a join token or the other way round.
  return createHmac('sha256', secret).update(`touchline-agent-credential:${prefix}${payload}`).digest('base64url');
}
