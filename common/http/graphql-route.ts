// Serves an Apollo Server on one of our routes: the caller decides, from the raw request, whether to go on.
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest } from '@apollo/server';
import { ErrorCode } from '../graphql/errors';
import { graphqlError, type HttpRequest, type HttpResponse, type Route } from './server';

/** Turns a request (with its raw body, for signature checks) into a context, or refuses it with a response. */
export type ContextBuilder<TContext> = (
  request: HttpRequest,
  body: Buffer,
) => Promise<{ context: TContext } | { refusal: HttpResponse }>;

export function graphqlRoute<TContext extends BaseContext>(apollo: ApolloServer<TContext>, buildContext: ContextBuilder<TContext>): Route {
  return async (request) => {
    const raw = request.method === 'GET' || request.method === 'HEAD' ? Buffer.alloc(0) : await request.readBody();
    const built = await buildContext(request, raw);
    if ('refusal' in built) return built.refusal;
    const context = built.context;

    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown;
    if (raw.length > 0) {
      if (!(headers.get('content-type') ?? '').includes('json')) body = raw.toString('utf8');
      else {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return graphqlError(400, ErrorCode.BAD_REQUEST, 'The request body is not valid JSON');
        }
      }
    }
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: request.method,
      headers,
      search: request.url.search,
      body,
    };
    const result = await apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest, context: async () => context });
    const responseHeaders = Object.fromEntries(result.headers);
    if (result.body.kind === 'complete') {
      return { status: result.status ?? 200, headers: responseHeaders, body: result.body.string };
    }
    return { status: result.status ?? 200, headers: responseHeaders, body: result.body.asyncIterator };
  };
}

