// How the gateway calls a subgraph: pooled keep-alive connections, and every request signed with the caller's
// identity so the subgraph can trust it (common/auth/request-signature.ts).
import http from 'node:http';
import https from 'node:https';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import fetch, { type RequestInit } from 'node-fetch';
import { serviceIdentity, type Identity } from '../common/auth/identity';
import { encodeIdentity, IDENTITY_HEADER, SIGNATURE_HEADER, signRequest } from '../common/auth/request-signature';

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 60_000 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 256, timeout: 60_000 }),
};

/** A fetch that signs each request over its final body, just before it is sent. */
export function signingFetch(secret: string) {
  return (url: string, init: RequestInit = {}) => {
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

interface CallerContext {
  identity?: Identity;
  requestId?: string;
}

export class SubgraphDataSource extends RemoteGraphQLDataSource<CallerContext> {
  constructor(url: string, secret: string) {
    super({ url, fetcher: signingFetch(secret) as never });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<CallerContext>): void {
    const headers = request.http!.headers;
    headers.set(IDENTITY_HEADER, encodeIdentity(context.identity ?? serviceIdentity('gateway')));
    if (context.requestId) headers.set('x-request-id', context.requestId);
  }
}
