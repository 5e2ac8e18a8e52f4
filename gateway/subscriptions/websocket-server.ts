// The gateway's WebSocket endpoint: graphql-ws (the graphql-transport-ws protocol) on the same /graphql path as
// queries. A connection authenticates once, in connection_init, with the same Authorization value as HTTP; each
// subscription then runs across the subgraphs (federated-subscriptions.ts), and queries and mutations sent over the
// socket run through Apollo Server as over HTTP. Connections are pinged, closed when idle, and capped in how many
// subscriptions they (and each key, across connections) may hold; a client too slow for its events is disconnected
// with a close reason that says where to resume.
import type http from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { GraphQLError, parse, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { CloseCode, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { SubscriptionSettings } from '../../common/config';
import type { Identity } from '../../common/auth/identity';
import type { SlowConsumerError } from '../../common/events/bounded-queue';
import { ErrorCode, formatError, formatResult } from '../../common/graphql/errors';
import type { Logger } from '../../common/logger';
import type { ApiKeyAuthenticator } from '../authentication';
import type { FederatedSubscriptions } from './federated-subscriptions';

/** Close code for a client cut off for being slow (1013, "try again later": clients reconnect and resume). */
export const SLOW_CONSUMER_CLOSE_CODE = 1013;

export interface GatewayWebSocketOptions<TContext> {
  server: http.Server;
  authenticator: ApiKeyAuthenticator;
  subscriptions: FederatedSubscriptions;
  apollo: ApolloServer<TContext & object>;
  settings: SubscriptionSettings;
  logger: Logger;
  maxPayloadBytes: number;
  /** Whether the supergraph is composed (before, every operation is refused with SERVICE_UNAVAILABLE). */
  isReady(): boolean;
  /** The context of a query or mutation sent over the socket. */
  createContext(identity: Identity, requestId: string): TContext;
}

interface Connection {
  identity: Identity;
  socket: WebSocket;
  active: Set<string>;
  idleTimer?: NodeJS.Timeout;
}

interface OperationContext {
  identity: Identity;
  requestId: string;
  payload: SubscribePayload;
  connection: Connection;
}

export interface GatewayWebSockets {
  readonly connections: number;
  close(): Promise<void>;
}

export function serveGatewayWebSockets<TContext>(options: GatewayWebSocketOptions<TContext>): GatewayWebSockets {
  const { logger, settings } = options;
  const wss = new WebSocketServer({ server: options.server, path: '/graphql', maxPayload: options.maxPayloadBytes });
  const connections = new WeakMap<object, Connection>();
  const open = new Set<Connection>();
  const perKey = new Map<string, number>();
  const format = formatError(logger);

  const release = (connection: Connection, id: string) => {
    if (!connection.active.delete(id)) return;
    const left = (perKey.get(connection.identity.id) ?? 1) - 1;
    if (left <= 0) perKey.delete(connection.identity.id);
    else perKey.set(connection.identity.id, left);
    armIdleTimer(connection);
  };
  const armIdleTimer = (connection: Connection) => {
    clearTimeout(connection.idleTimer);
    if (settings.idleTimeoutSeconds === 0 || connection.active.size > 0) return;
    connection.idleTimer = setTimeout(() => connection.socket.close(1000, 'Idle: no subscription for a while'), settings.idleTimeoutSeconds * 1000);
    connection.idleTimer.unref();
  };

  const server = useServer<Record<string, unknown>>(
    {
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        const result = await options.authenticator.authenticate(typeof authorization === 'string' ? authorization : undefined);
        if ('failure' in result) {
          ctx.extra.socket.close(CloseCode.Unauthorized, truncate(`Unauthorized: ${result.failure}`));
          return false;
        }
        const connection: Connection = { identity: result.identity, socket: ctx.extra.socket, active: new Set() };
        connections.set(ctx, connection);
        open.add(connection);
        armIdleTimer(connection);
        return true;
      },
      onSubscribe: (ctx, id, payload) => {
        const connection = connections.get(ctx);
        if (!connection) return [new GraphQLError('Not authenticated', { extensions: { code: ErrorCode.UNAUTHENTICATED } })];
        if (!options.isReady()) {
          return [new GraphQLError('The gateway is starting; try again shortly', { extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } })];
        }
        if (connection.active.size >= settings.maxPerConnection) {
          return [tooMany(`This connection already holds ${connection.active.size} subscriptions, the most one may hold; end one first or open another connection.`)];
        }
        const held = perKey.get(connection.identity.id) ?? 0;
        if (held >= settings.maxPerKey) return [tooMany(`This key already holds ${held} subscriptions, the most one key may hold.`)];
        let document;
        try {
          document = parse(payload.query, { maxTokens: 20_000 });
        } catch (error) {
          return [error as GraphQLError];
        }
        connection.active.add(id);
        perKey.set(connection.identity.id, held + 1);
        clearTimeout(connection.idleTimer);
        const contextValue: OperationContext = { identity: connection.identity, requestId: `ws:${id}`, payload, connection };
        const args: ExecutionArgs = {
          schema: options.subscriptions.schema!,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
        };
        return args;
      },
      subscribe: (args) => {
        const { identity, requestId, payload, connection } = args.contextValue as OperationContext;
        return options.subscriptions.subscribe({
          query: payload.query,
          document: args.document,
          operationName: payload.operationName,
          variables: payload.variables,
          identity,
          requestId,
          onSlow: (error: SlowConsumerError) => {
            logger.info({ identity: identity.name, lastDelivered: error.lastDelivered }, 'cut off a slow subscriber');
            const resume = error.lastDelivered !== undefined ? ` after ${error.lastDelivered}` : '';
            connection.socket.close(SLOW_CONSUMER_CLOSE_CODE, truncate(`Slow consumer: over ${error.limit} events behind; resume${resume}`));
          },
        }) as never;
      },
      execute: async (args) => {
        const { identity, requestId, payload } = args.contextValue as OperationContext;
        const response = await options.apollo.executeOperation(
          { query: payload.query, variables: payload.variables ?? undefined, operationName: payload.operationName ?? undefined },
          { contextValue: options.createContext(identity, requestId) as TContext & object },
        );
        return (response.body.kind === 'single' ? response.body.singleResult : { errors: [new GraphQLError('Incremental delivery is not supported over WebSocket')] }) as ExecutionResult;
      },
      onNext: (_ctx, _id, _payload, _args, result) => formatResult(result, format) as never,
      onError: (ctx, id, _payload, errors) => {
        const connection = connections.get(ctx);
        if (connection) release(connection, id);
        return errors.map((error) => format(error.toJSON(), error)) as never;
      },
      onComplete: (ctx, id) => {
        const connection = connections.get(ctx);
        if (connection) release(connection, id);
      },

      onClose: (ctx) => {
        const connection = connections.get(ctx);
        if (!connection) return;
        clearTimeout(connection.idleTimer);
        for (const id of [...connection.active]) release(connection, id);
        clearTimeout(connection.idleTimer);
        open.delete(connection);
      },
    },
    wss,
    // Keep-alive: graphql-ws pings each connection this often and drops one that did not answer the last ping.
    settings.keepAliveSeconds * 1000,
  );

  wss.on('error', (error) => logger.warn({ err: error }, 'websocket server error'));

  return {
    get connections() {
      return open.size;
    },
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await server.dispose();
    },
  };
}

function tooMany(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.TOO_MANY_SUBSCRIPTIONS } });
}

/** A close reason fits in 123 bytes. */
function truncate(reason: string): string {
  return Buffer.byteLength(reason) <= 123 ? reason : `${Buffer.from(reason).subarray(0, 120).toString('utf8')}...`;
}
