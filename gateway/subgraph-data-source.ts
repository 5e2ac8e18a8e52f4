// How the gateway calls a subgraph: pooled keep-alive connections, and every request signed with the caller's
// identity so the subgraph can trust it (common/auth/request-signature.ts).
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { serviceIdentity, type Identity } from '../common/auth/identity';
import { encodeIdentity, IDENTITY_HEADER } from '../common/auth/request-signature';
import { signingFetch } from '../common/http/signed-fetch';

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
