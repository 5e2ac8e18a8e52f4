// Calls from one Touchline service to another: pooled keep-alive connections, each request signed with the
// caller's identity over its final body (see common/auth/request-signature.ts).
import http from 'node:http';
import https from 'node:https';
import fetch, { type RequestInit, type Response } from 'node-fetch';
import { serviceIdentity, type Identity } from '../auth/identity';
import { encodeIdentity, IDENTITY_HEADER, SIGNATURE_HEADER, signRequest } from '../auth/request-signature';

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 60_000 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 256, timeout: 60_000 }),
};

export type SignedFetch = (url: string, init?: RequestInit) => Promise<Response>;

/**
 * A fetch that signs each request just before it is sent, for the identity in its identity header (or the
 * gateway's own, when it has none).
 */
export function signingFetch(secret: string): SignedFetch {
  return (url, init = {}) => {
    const headers = { ...(init.headers as Record<string, string>) };
    const encodedIdentity = headers[IDENTITY_HEADER] ?? encodeIdentity(serviceIdentity('gateway'));
    const parsed = new URL(url);
    headers[IDENTITY_HEADER] = encodedIdentity;
    headers[SIGNATURE_HEADER] = signRequest(secret, encodedIdentity, {
      method: init.method ?? 'GET',
      path: parsed.pathname,
      body: typeof init.body === 'string' ? init.body : '',
    });
    return fetch(url, { ...init, headers, agent: parsed.protocol === 'https:' ? agents.https : agents.http });
  };
}

/** Runs a GraphQL operation on another service as `caller`; throws on transport or GraphQL errors. */
export async function signedGraphQL<T>(
  fetchSigned: SignedFetch,
  url: string,
  caller: Identity,
  query: string,
  variables: Record<string, unknown>,
): Promise<T> {
  const response = await fetchSigned(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: encodeIdentity(caller) },
    body: JSON.stringify({ query, variables }),
    timeout: 10_000,
  });
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (!response.ok || body.errors?.length || !body.data) {
    throw new Error(body.errors?.map((error) => error.message).join('; ') ?? `HTTP ${response.status}`);
  }
  return body.data;
}
