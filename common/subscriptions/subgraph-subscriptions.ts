// A subgraph's subscriptions, over graphql-ws on its /graphql path. Only the gateway talks to it: the connection is
// opened with a signature, and each subscription carries the identity of the client it is for, signed over the
// operation; the subgraph's resolvers check that identity's role as they do for queries. Each event goes out with its
// stream sequence in `extensions.sequence`, so that the gateway can resume from there if the connection drops.
import type http from 'node:http';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Disposable } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Identity } from '../auth/identity';
import { RequestVerifier, subscriptionRequest, SUBSCRIPTION_CONNECT } from '../auth/request-signature';
import type { ServiceContext } from '../graphql/context';
import { ErrorCode, formatError, formatResult } from '../graphql/errors';
import type { Logger } from '../logger';

export interface SubgraphSubscriptionOptions {
  server: http.Server;
  schema: GraphQLSchema;
  secret: string;
  logger: Logger;
  maxPayloadBytes: number;
  /** The context of one subscription, for the identity it was signed for. */
  createContext(identity: Identity, requestId: string): ServiceContext;
}

export interface SubgraphSubscriptions {
  /** How many subscriptions are open now. */
  readonly active: number;
  close(): Promise<void>;
}

export function serveSubgraphSubscriptions(options: SubgraphSubscriptionOptions): SubgraphSubscriptions {
  const { logger } = options;
  const verifier = new RequestVerifier(options.secret);
  const format = formatError(logger);
  const wss = new WebSocketServer({ server: options.server, path: '/graphql', maxPayload: options.maxPayloadBytes });
  /** The identity each subscription was signed for, by connection and subscription id. */
  const identities = new WeakMap<object, Map<string, Identity>>();
  let active = 0;

  const server: Disposable = useServer(
    {
      schema: options.schema,
      onConnect: (ctx) => {
        const result = verifier.verify(headersOf(ctx.connectionParams), SUBSCRIPTION_CONNECT);
        if (!result.ok) logger.warn({ reason: result.reason }, 'refused a subscription connection that was not signed by the gateway');
        return result.ok;
      },
      onSubscribe: (ctx, id, payload) => {
        const result = verifier.verify(headersOf(payload.extensions), subscriptionRequest(payload));
        if (!result.ok) {
          logger.warn({ reason: result.reason }, 'refused an unsigned or badly signed subscription');
          return [new GraphQLError(`Refused: ${result.reason}. Subscribe through the gateway.`, { extensions: { code: ErrorCode.UNAUTHENTICATED } })];
        }
        let byId = identities.get(ctx);
        if (!byId) identities.set(ctx, (byId = new Map()));
        byId.set(id, result.identity);
        return undefined;
      },
      context: (ctx, id) => {
        const identity = identities.get(ctx)?.get(id);
        if (!identity) throw new Error('a subscription without a verified identity');
        return options.createContext(identity, `subscription:${id}`);
      },
      onOperation: () => {
        active += 1;
        return undefined;
      },
      onComplete: (ctx, id) => {
        identities.get(ctx)?.delete(id);
        active = Math.max(0, active - 1);
      },
      onNext: (_ctx, _id, _payload, args, result) => {
        const sequence = (args.contextValue as ServiceContext | undefined)?.lastSequence;
        return formatResult(result, format, sequence === undefined ? undefined : { sequence }) as never;
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => format(error.toJSON(), error)) as never,
    },
    wss,
  );
  wss.on('error', (error) => logger.warn({ err: error }, 'subscription server error'));

  return {
    get active() {
      return active;
    },
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await server.dispose();
    },
  };
}

function headersOf(value: unknown): Record<string, string | undefined> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
