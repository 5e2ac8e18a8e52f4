// Gateway-to-subgraph trust: a signed request verifies once, and anything changed, late, replayed or forged is refused.
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/auth/identity';
import {
  IDENTITY_HEADER,
  RequestVerifier,
  SIGNATURE_HEADER,
  SIGNATURE_WINDOW_MS,
  encodeIdentity,
  signRequest,
  signedHeaders,
  type SignedRequest,
} from '../../common/auth/request-signature';

const SECRET = 'shared-by-the-gateway-and-every-subgraph';
const alice: Identity = { kind: 'apiKey', id: 'key-alice', name: 'alice', role: 'operator' };
const request: SignedRequest = { method: 'POST', path: '/graphql', body: '{"query":"{ models { edges { node { name } } } }"}' };
const T = Date.UTC(2025, 0, 1, 12);

/** Headers for `identity` signed at time `at`, as the gateway would send them. */
function signedAt(at: number, identity: Identity = alice, secret = SECRET, signed: SignedRequest = request): Record<string, string> {
  const encoded = encodeIdentity(identity);
  return { [IDENTITY_HEADER]: encoded, [SIGNATURE_HEADER]: signRequest(secret, encoded, signed, at) };
}

/** The raw identity header for a value the gateway would never produce. */
const rawIdentity = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('RequestVerifier', () => {
  it('accepts a request the gateway signed, and tells who is calling', () => {
    const verifier = new RequestVerifier(SECRET);
    expect(verifier.verify(signedHeaders(SECRET, alice, request), request)).toEqual({ ok: true, identity: alice });
  });

  it('accepts the same body as bytes, the method in any case, and headers given as arrays', () => {
    const verifier = new RequestVerifier(SECRET);
    const headers = signedHeaders(SECRET, alice, request);
    const asNodeMightGiveThem = { [IDENTITY_HEADER]: [headers[IDENTITY_HEADER] as string], [SIGNATURE_HEADER]: [headers[SIGNATURE_HEADER] as string] };
    const result = verifier.verify(asNodeMightGiveThem, { method: 'post', path: request.path, body: Buffer.from(request.body) });
    expect(result).toEqual({ ok: true, identity: alice });
  });

  it.each<[string, Record<string, string>, SignedRequest]>([
    ['signed with another secret', signedAt(T, alice, 'some-other-secret-of-the-same-length!!'), request],
    ['with a changed body', signedAt(T), { ...request, body: '{"query":"mutation { deleteModel }"}' }],
    ['sent to another path', signedAt(T), { ...request, path: '/admin' }],
    ['sent with another method', signedAt(T), { ...request, method: 'GET' }],
  ])('refuses a request %s', (_, headers, received) => {
    expect(new RequestVerifier(SECRET).verify(headers, received, T)).toEqual({ ok: false, reason: 'invalid signature' });
  });

  it('refuses a request whose identity header was swapped for a more powerful one', () => {
    const headers = signedAt(T);
    const forged = { ...headers, [IDENTITY_HEADER]: encodeIdentity({ ...alice, role: 'admin' }) };
    expect(new RequestVerifier(SECRET).verify(forged, request, T)).toEqual({ ok: false, reason: 'invalid signature' });
  });

  it('accepts a timestamp up to the window away from its clock, either way, and refuses one further', () => {
    const verifier = new RequestVerifier(SECRET);
    expect(verifier.verify(signedAt(T - SIGNATURE_WINDOW_MS), request, T).ok).toBe(true);
    expect(verifier.verify(signedAt(T + SIGNATURE_WINDOW_MS), request, T).ok).toBe(true);
    expect(verifier.verify(signedAt(T - SIGNATURE_WINDOW_MS - 1), request, T)).toEqual({ ok: false, reason: 'signature expired' });
    expect(verifier.verify(signedAt(T + SIGNATURE_WINDOW_MS + 1), request, T)).toEqual({ ok: false, reason: 'signature expired' });
  });

  it('uses the window it was given', () => {
    const verifier = new RequestVerifier(SECRET, 1_000);
    expect(verifier.verify(signedAt(T), request, T + 1_000).ok).toBe(true);
    expect(verifier.verify(signedAt(T), request, T + 1_001)).toEqual({ ok: false, reason: 'signature expired' });
  });

  it('accepts a signed request once: a replay of the same headers is refused', () => {
    const verifier = new RequestVerifier(SECRET);
    const headers = signedAt(T);
    expect(verifier.verify(headers, request, T).ok).toBe(true);
    expect(verifier.verify(headers, request, T + 10)).toEqual({ ok: false, reason: 'replayed signature' });
    // The same caller signing the same request again gets a fresh nonce, so that is not a replay.
    expect(verifier.verify(signedAt(T), request, T + 20).ok).toBe(true);
  });

  it.each<[string, Record<string, string>]>([
    ['no headers', {}],
    ['only the identity header', { [IDENTITY_HEADER]: encodeIdentity(alice) }],
    ['only the signature header', { [SIGNATURE_HEADER]: signRequest(SECRET, encodeIdentity(alice), request, T) }],
    ['empty headers', { [IDENTITY_HEADER]: '', [SIGNATURE_HEADER]: '' }],
  ])('refuses a request with %s as not coming from the gateway', (_, headers) => {
    expect(new RequestVerifier(SECRET).verify(headers, request, T)).toEqual({
      ok: false,
      reason: 'missing signature: only the gateway may call this service',
    });
  });

  it.each(['garbage', `t=${T}`, `t=${T},n=abc`, `n=abc,v1=def`, `t=soon,n=abc,v1=def`, `t=${T},v1=def`])(
    'refuses a malformed signature header %j',
    (signature) => {
      const headers = { [IDENTITY_HEADER]: encodeIdentity(alice), [SIGNATURE_HEADER]: signature };
      expect(new RequestVerifier(SECRET).verify(headers, request, T)).toEqual({ ok: false, reason: 'malformed signature' });
    },
  );

  it.each<[string, string]>([
    ['not base64 JSON', 'not-json'],
    ['JSON but not an object', rawIdentity('alice')],
    ['JSON null', rawIdentity(null)],
    ['an unknown role', rawIdentity({ ...alice, role: 'root' })],
    ['an unknown kind', rawIdentity({ ...alice, kind: 'user' })],
    ['no name', rawIdentity({ kind: 'apiKey', id: 'key-alice', role: 'viewer' })],
  ])('refuses a correctly signed identity header that holds %s', (_, encoded) => {
    // Signed with the right secret, so only the identity itself is wrong.
    const headers = { [IDENTITY_HEADER]: encoded, [SIGNATURE_HEADER]: signRequest(SECRET, encoded, request, T) };
    expect(new RequestVerifier(SECRET).verify(headers, request, T)).toEqual({ ok: false, reason: 'malformed identity' });
  });

  it('keeps only the signatures still inside the window, and keeps accepting fresh requests', () => {
    const verifier = new RequestVerifier(SECRET);
    for (let i = 0; i < 2_000; i++) {
      expect(verifier.verify(signedAt(T + i), request, T + i).ok).toBe(true);
    }
    // What the verifier remembers is not visible through verify() (a replayed old signature is refused as
    // expired anyway), so the test looks at the size of its replay memory directly.
    const remembered = () => (verifier as unknown as { seen: Map<string, number> }).seen.size;
    expect(remembered()).toBe(2_000);

    const muchLater = T + 24 * 60 * 60 * 1000;
    expect(verifier.verify(signedAt(muchLater), request, muchLater)).toEqual({ ok: true, identity: alice });
    expect(remembered()).toBe(1);
  });

  it('forgets, one request at a time, the signatures that have left the window', () => {
    const verifier = new RequestVerifier(SECRET, 1_000);
    // One request every 100 ms for a minute: at any moment only the last ~10 can still be replayed.
    for (let at = T; at < T + 60_000; at += 100) {
      expect(verifier.verify(signedAt(at), request, at).ok).toBe(true);
    }
    const remembered = (verifier as unknown as { seen: Map<string, number> }).seen.size;
    expect(remembered).toBeLessThanOrEqual(11);
  });
});
