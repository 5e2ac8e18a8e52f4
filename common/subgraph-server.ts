// Runs one subgraph: its database, its federated schema behind Apollo Server, and an HTTP server that only
// answers requests signed by the gateway (health checks aside).
import { createHash } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { EntitySchema, MixedList } from 'typeorm';
import { AUDIT_PATH, answerAuditRequest } from './audit/audit-route';
import type { Identity } from './auth/identity';
import { RequestVerifier } from './auth/request-signature';
import { Database, type DatabaseLocation } from './db/database';
import type { ServiceContext } from './graphql/context';
import { ErrorCode, formatError } from './graphql/errors';
import { RedisBus } from './events/bus';
import { graphqlRoute } from './http/graphql-route';
import { ServiceMetrics } from './metrics/service-metrics';
import { serveSubgraphSubscriptions } from './subscriptions/subgraph-subscriptions';
import { graphqlError, json, startHttpService, type HttpRequest, type HttpService } from './http/server';
import type { Config } from './config';
import type { Logger } from './logger';

/**
 * What a subgraph is: its tables (including the shared audit_entry), its migrations, its schema, and what runs
 * once it starts.
 */
export interface SubgraphDefinition<TContext extends ServiceContext> {
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: Record<DatabaseLocation['kind'], Function[]>;
  buildSchema(): Promise<GraphQLSchema>;
  /** Starts what runs beside the API (background loops), and says how each request's context is made. */
  start(environment: SubgraphEnvironment): Promise<SubgraphInstance<TContext>>;
}

/** What a subgraph gets when it starts. */
export interface SubgraphEnvironment {
  db: Database;
  logger: Logger;
  config: Readonly<Config>;
  /** The secret shared with the gateway: it also signs the rare call one subgraph makes to another. */
  secret: string;
  /** Where the other subgraphs' GraphQL endpoints answer, by name. */
  peers: Readonly<Record<string, string>>;
  /** This subgraph's Prometheus registry, served at `/metrics`: a subgraph adds its own metrics to it. */
  metrics: ServiceMetrics;
}

export interface SubgraphInstance<TContext extends ServiceContext> {
  createContext(base: ServiceContext): TContext;
  stop?(): Promise<void>;
}

export interface SubgraphOptions {
  config: Readonly<Config>;
  port: number;
  /** The secret shared with the gateway, which signs every request. */
  secret: string;
  database: DatabaseLocation;
  logger: Logger;
  peers: Readonly<Record<string, string>>;
  onQuery?: (sql: string) => void;
}

export interface RunningSubgraph {
  name: string;
  url: string;
  port: number;
  db: Database;
  stop(): Promise<void>;
}

export async function startSubgraph<TContext extends ServiceContext>(
  definition: SubgraphDefinition<TContext>,
  options: SubgraphOptions,
): Promise<RunningSubgraph> {
  const logger = options.logger.child({ service: definition.name });
  const db = await Database.open({
    location: options.database,
    entities: definition.entities,
    migrations: definition.migrations,
    logger,
    onQuery: options.onQuery,
  });
  let instance: SubgraphInstance<TContext> | undefined;
  const metrics = new ServiceMetrics(definition.name);
  try {
    if (options.config.subscriptions.redisUrl) {
      // Instances share announcements when they share a database; other deployments on the same Redis stay apart.
      const deployment = createHash('sha256').update(JSON.stringify(options.database)).digest('hex').slice(0, 12);
      db.bus = new RedisBus(options.config.subscriptions.redisUrl, `${definition.name}:${deployment}:`, logger);
    }
    instance = await definition.start({ db, logger, config: options.config, secret: options.secret, peers: options.peers, metrics });
    const running = instance;
    const schema = await definition.buildSchema();
    const apollo = new ApolloServer<TContext>({
      schema,
      formatError: formatError(logger),
      includeStacktraceInErrorResponses: false,
      stopOnTerminationSignals: false,
      plugins: [ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginLandingPageDisabled(), metrics.graphqlErrorsPlugin()],
    });
    await apollo.start();
    const verifier = new RequestVerifier(options.secret);

    const verify = (request: HttpRequest, body: Buffer): Identity | string => {
      const result = verifier.verify(request.headers, { method: request.method, path: request.url.pathname, body });
      if (!result.ok) logger.warn({ requestId: request.requestId, reason: result.reason }, 'refused an unsigned or badly signed request');
      return result.ok ? result.identity : result.reason;
    };
    const refuse = (reason: string) =>
      graphqlError(401, ErrorCode.UNAUTHENTICATED, `Refused: ${reason}. Send requests to the gateway, not to a subgraph.`);

    const http: HttpService = await startHttpService({
      host: options.config.host,
      port: options.port,
      logger,
      maxBodyBytes: options.config.maxBodyBytes,
      metrics: { service: metrics, token: options.config.metricsToken },
      routes: {
        '/healthz': () => json(200, { status: 'ok', service: definition.name }),
        '/readyz': async () => {
          try {
            await db.ping();
            return json(200, { status: 'ready', service: definition.name });
          } catch (error) {
            return json(503, { status: 'unavailable', service: definition.name, reason: `database: ${(error as Error).message}` });
          }
        },
        '/graphql': graphqlRoute<TContext>(apollo, async (request, body) => {
          const identity = verify(request, body);
          if (typeof identity === 'string') return { refusal: refuse(identity) };
          const base: ServiceContext = {
            service: definition.name,
            identity,
            requestId: request.requestId,
            logger: logger.child({ requestId: request.requestId }),
            db,
            em: db.manager,
          };
          return { context: running.createContext(base) };
        }),
        [AUDIT_PATH]: async (request) => {
          const body = await request.readBody();
          const identity = verify(request, body);
          return typeof identity === 'string' ? refuse(identity) : answerAuditRequest(db, identity, body);
        },
      },
    });
    const subscriptions = serveSubgraphSubscriptions({
      server: http.server,
      schema,
      secret: options.secret,
      logger,
      maxPayloadBytes: options.config.maxBodyBytes,
      createContext: (identity, requestId) =>
        running.createContext({ service: definition.name, identity, requestId, logger: logger.child({ requestId }), db, em: db.manager }),
    });
    logger.info({ url: `${http.url}/graphql`, database: options.database.kind, bus: db.bus.constructor.name }, 'subgraph ready');

    let stopping: Promise<void> | undefined;
    return {
      name: definition.name,
      url: `${http.url}/graphql`,
      port: http.port,
      db,
      stop: () =>
        (stopping ??= (async () => {
          await subscriptions.close();
          await http.close();
          await running.stop?.();
          await apollo.stop();
          await db.bus.close();
          await db.close();
        })()),
    };
  } catch (error) {
    await instance?.stop?.();
    await db.bus.close();
    await db.close();
    throw error;
  }
}
