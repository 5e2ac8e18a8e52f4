// Trust between the gateway and the subgraphs: the gateway forwards the identity it verified in a header,
// signed with a shared secret over the request (method, path, body hash) and a timestamp plus nonce, so a
// subgraph refuses any request that did not come from the gateway, and any replay of one that did.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Identity, isRole } from './identity';

export const IDENTITY_HEADER = 'x-touchline-identity';
export const SIGNATURE_HEADER = 'x-touchline-signature';

/** How far a signature's timestamp may be from the receiver's clock. */
export const SIGNATURE_WINDOW_MS = 30_000;

export interface SignedRequest {
  method: string;
  path: string;
  body: string | Buffer;
}

/** The value of the identity header for `identity`. */
export function encodeIdentity(identity: Identity): string {
  return Buffer.from(JSON.stringify(identity)).toString('base64url');
}

/** The signature header's value for a request carrying `encodedIdentity` in its identity header. */
export function signRequest(secret: string, encodedIdentity: string, request: SignedRequest, now = Date.now()): string {
  const nonce = randomBytes(12).toString('base64url');
  return `t=${now},n=${nonce},v1=${computeMac(secret, now, nonce, encodedIdentity, request)}`;
}

/** Both headers of a signed request, for callers that build requests themselves. */
export function signedHeaders(secret: string, identity: Identity, request: SignedRequest): Record<string, string> {
  const encoded = encodeIdentity(identity);
  return { [IDENTITY_HEADER]: encoded, [SIGNATURE_HEADER]: signRequest(secret, encoded, request) };
}

export type VerifyResult = { ok: true; identity: Identity } | { ok: false; reason: string };

/** Checks a request's signature; each (timestamp, nonce) pair is accepted once, within the window. */
export class RequestVerifier {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly secret: string,
    private readonly windowMs = SIGNATURE_WINDOW_MS,
  ) {}

  verify(headers: Record<string, string | string[] | undefined>, request: SignedRequest, now = Date.now()): VerifyResult {
    const encodedIdentity = single(headers[IDENTITY_HEADER]);
    const signature = single(headers[SIGNATURE_HEADER]);
    if (!encodedIdentity || !signature) return { ok: false, reason: 'missing signature: only the gateway may call this service' };

    const parts = Object.fromEntries(signature.split(',').map((part) => part.split('=', 2) as [string, string]));
    const timestamp = Number(parts.t);
    const nonce = parts.n;
    const mac = parts.v1;
    if (!Number.isFinite(timestamp) || !nonce || !mac) return { ok: false, reason: 'malformed signature' };
    if (Math.abs(now - timestamp) > this.windowMs) return { ok: false, reason: 'signature expired' };

    const expected = computeMac(this.secret, timestamp, nonce, encodedIdentity, request);
    if (!safeEqual(mac, expected)) return { ok: false, reason: 'invalid signature' };

    const replayKey = `${timestamp}.${nonce}`;
    this.forgetExpired(now);
    if (this.seen.has(replayKey)) return { ok: false, reason: 'replayed signature' };
    this.seen.set(replayKey, timestamp);

    const identity = parseIdentity(encodedIdentity);
    return identity ? { ok: true, identity } : { ok: false, reason: 'malformed identity' };
  }

  private forgetExpired(now: number): void {
    // Entries were inserted in arrival order, which is close to timestamp order; stop at the first one still live.
    for (const [key, timestamp] of this.seen) {
      if (now - timestamp <= this.windowMs) break;
      this.seen.delete(key);
    }
  }
}

function computeMac(secret: string, timestamp: number, nonce: string, identity: string, request: SignedRequest): string {
  const bodyHash = createHash('sha256').update(request.body).digest('hex');
  return createHmac('sha256', secret)
    .update(`${timestamp}.${nonce}.${identity}.${request.method.toUpperCase()}.${request.path}.${bodyHash}`)
    .digest('base64url');
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseIdentity(encoded: string): Identity | undefined {
  try {
    const value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as Partial<Identity>;
    const kinds: unknown[] = ['apiKey', 'service', 'node', 'joinToken'];
    if (kinds.includes(value.kind) && typeof value.id === 'string' &&
        typeof value.name === 'string' && isRole(value.role)) {
      return { kind: value.kind as Identity['kind'], id: value.id, name: value.name, role: value.role };
    }
  } catch {
    // fall through: not JSON
  }
  return undefined;
}

/** What the gateway signs when it opens a WebSocket to a subgraph (in `connection_init`). */
export const SUBSCRIPTION_CONNECT: SignedRequest = { method: 'CONNECT', path: '/graphql', body: '' };

/** What the gateway signs for each subscription it starts on a subgraph (in the `subscribe` message's extensions). */
export function subscriptionRequest(payload: { query: string; variables?: Record<string, unknown> | null }): SignedRequest {
  return { method: 'SUBSCRIBE', path: '/graphql', body: `${payload.query}\n${JSON.stringify(payload.variables ?? {})}` };
}
