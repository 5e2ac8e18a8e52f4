// The gateway: Touchline's one public endpoint. It authenticates API keys, enforces query limits, serves the
// playground, and executes operations across the subgraphs of the composed supergraph.
import { ApolloGateway, LocalGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import fetch from 'node-fetch';
import type { Identity } from '../common/auth/identity';
import type { SubscriptionSettings } from '../common/config';
import { Database, type DatabaseLocation } from '../common/db/database';
import { ErrorCode, formatError } from '../common/graphql/errors';
import { subgraphSdl } from '../common/graphql/subgraph-schema';
import { graphqlRoute } from '../common/http/graphql-route';
import { graphqlError, json, startHttpService, type HttpService } from '../common/http/server';
import type { Logger } from '../common/logger';
import { ServiceMetrics } from '../common/metrics/service-metrics';
import { ACCESS_SUBGRAPH, accessEntities, accessMigrations, buildAccessSchema } from './access';
import type { AccessContext } from './access/access.resolver';
import { bootstrapAdminKey } from './access/api-key.service';
import { localAuditSource, remoteAuditSource } from './access/audit-log.service';
import { ApiKeyAuthenticator } from './authentication';
import { playgroundAssets, playgroundPage, PLAYGROUND_PREFIX, wantsPlayground } from './playground';
import { queryLimitsPlugin, type QueryLimits } from './query-limits';
import { SubgraphDataSource } from './subgraph-data-source';
import { FederatedSubscriptions, type SubscriptionStats } from './subscriptions/federated-subscriptions';
import { serveGatewayWebSockets, type GatewayWebSockets } from './subscriptions/websocket-server';
import { liveSupergraph, readSupergraphFile, remoteSdl, type SdlSource } from './supergraph';

export type GatewayContext = AccessContext;

export interface GatewayOptions {
  host: string;
  port: number;
  /** Shared with the subgraphs; signs the identity forwarded to them. */
  secret: string;
  database: DatabaseLocation;
  logger: Logger;
  /** The subgraphs by name, with the URL of their GraphQL endpoint. */
  subgraphs: Record<string, string>;
  /** Serve this composed supergraph instead of composing from the running subgraphs. */
  supergraphFile?: string;
  composePollMs: number;
  adminKey?: string;
  maxBodyBytes: number;
  limits: QueryLimits;
  subscriptions: SubscriptionSettings;
  /** Bearer token for `GET /metrics`; without it, only loopback clients may scrape. */
  metricsToken?: string;
}

export interface RunningGateway {
  /** The GraphQL endpoint. */
  url: string;
  port: number;
  db: Database;
  /** Resolves once the supergraph is composed and operations are served. */
  ready: Promise<void>;
  /** The first admin key, when this start created it: to be shown once. */
  bootstrapKey?: { key: string; generated: boolean };
  /** Subscriptions now and since start: groups, subscribers, events received, entity fetches sent. */
  subscriptionStats: Readonly<SubscriptionStats>;
  stop(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const logger = options.logger.child({ service: 'gateway' });
  const db = await Database.open({
    location: options.database,
    entities: accessEntities,
    migrations: accessMigrations,
    logger,
  });
  let http: HttpService | undefined;
  const metrics = new ServiceMetrics('gateway');
  try {
    const bootstrapKey = await db.transaction(async (em) => {
      if (db.kind === 'postgres') await em.query("SELECT pg_advisory_xact_lock(hashtext('touchline:bootstrap-admin-key'))");
      return bootstrapAdminKey(em, options.adminKey);
    });
    const accessSchema = await buildAccessSchema();
    const authenticator = new ApiKeyAuthenticator(db, logger, options.secret);
    const auditSources = [
      localAuditSource('gateway', db),
      ...Object.entries(options.subgraphs).map(([name, url]) => remoteAuditSource(name, url, options.secret)),
    ];

    let waitingFor: string[] = Object.keys(options.subgraphs);
    const sdlSources: SdlSource[] = [
      { name: ACCESS_SUBGRAPH, url: `local://${ACCESS_SUBGRAPH}`, load: async () => subgraphSdl(accessSchema) },
      ...Object.entries(options.subgraphs).map(([name, url]) => remoteSdl(name, url, options.secret)),
    ];
    // Left on, @apollo/gateway probes cloud metadata addresses at start and sends usage to Apollo every hour:
    // Touchline calls nothing it was not configured to call.
    process.env.APOLLO_TELEMETRY_DISABLED = 'true';
    const dataSource = (name: string, url: string | undefined) =>
      name === ACCESS_SUBGRAPH ? new LocalGraphQLDataSource(accessSchema) : new SubgraphDataSource(url!, options.secret);
    const gateway = new ApolloGateway({
      supergraphSdl: options.supergraphFile
        ? readSupergraphFile(options.supergraphFile)
        : liveSupergraph({ sources: sdlSources, logger, pollMs: options.composePollMs, onWaiting: (names) => (waitingFor = names) }),
      buildService: ({ name, url }) => dataSource(name, url),
      logger,
    });
    const subscriptions = new FederatedSubscriptions({
      secret: options.secret,
      logger,
      limits: options.limits,
      subscriberBuffer: options.subscriptions.subscriberBuffer,
      replayWindow: options.subscriptions.replayWindow,
      dataSource,
    });
    gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
      try {
        subscriptions.update(coreSupergraphSdl);
      } catch (error) {
        logger.error({ err: error }, 'could not prepare subscriptions for the new supergraph');
      }
    });
    const apollo = new ApolloServer<GatewayContext>({
      gateway,
      formatError: formatError(logger),
      includeStacktraceInErrorResponses: false,
      stopOnTerminationSignals: false,
      parseOptions: { maxTokens: 20_000 },
      plugins: [ApolloServerPluginLandingPageDisabled(), queryLimitsPlugin(options.limits), metrics.graphqlErrorsPlugin()],
      logger,
    });

    let started = false;
    const ready = apollo.start().then(() => {
      started = true;
      waitingFor = [];
    });
    ready.catch((error: unknown) => logger.error({ err: error }, 'the gateway could not load the supergraph'));

    const createContext = (identity: Identity, requestId: string): GatewayContext => ({
      service: 'gateway',
      identity,
      requestId,
      logger: logger.child({ requestId }),
      db,
      em: db.manager,
      auditSources,
      forgetKey: (keyId) => authenticator.forget(keyId),
    });
    const serveGraphQL = graphqlRoute<GatewayContext>(apollo, async (request) => {
      const authentication = await authenticator.authenticate(request.headers.authorization);
      if ('failure' in authentication) {
        return { refusal: graphqlError(401, ErrorCode.UNAUTHENTICATED, authentication.failure, { 'www-authenticate': 'Bearer realm="touchline"' }) };
      }
      return { context: createContext(authentication.identity, request.requestId) };
    });

    http = await startHttpService({
      host: options.host,
      port: options.port,
      logger,
      maxBodyBytes: options.maxBodyBytes,
      metrics: { service: metrics, token: options.metricsToken },
      routes: {
        '/': () => ({ status: 302, headers: { location: '/graphql' } }),
        '/healthz': () => json(200, { status: 'ok', service: 'gateway' }),
        '/readyz': async () => {
          const checks = await readiness(db, options.subgraphs, started, waitingFor);
          const ok = Object.values(checks).every((check) => check === 'ok');
          return json(ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable', checks });
        },
        [PLAYGROUND_PREFIX]: playgroundAssets(),
        '/graphql': (request) => {
          if (wantsPlayground(request.method, request.headers.accept)) return playgroundPage();
          if (!started) {
            const detail = waitingFor.length > 0 ? `waiting for ${waitingFor.join(', ')}` : 'composing the supergraph';
            return graphqlError(503, ErrorCode.SERVICE_UNAVAILABLE, `The gateway is starting (${detail}); try again shortly`, { 'retry-after': '2' });
          }
          return serveGraphQL(request);
        },
      },
    });
    const webSockets = serveGatewayWebSockets<GatewayContext>({
      server: http.server,
      authenticator,
      subscriptions,
      apollo,
      settings: options.subscriptions,
      logger,
      maxPayloadBytes: options.maxBodyBytes,
      isReady: () => started,
      createContext,
    });
    gatewayMetrics(metrics, subscriptions.stats, webSockets);
    const url = `${http.url}/graphql`;
    logger.info({ url }, 'gateway listening');
    const server = http;

    let stopping: Promise<void> | undefined;
    return {
      url,
      port: server.port,
      db,
      ready,
      bootstrapKey,
      subscriptionStats: subscriptions.stats,
      stop: () =>
        (stopping ??= (async () => {
          await webSockets.close();
          await subscriptions.close();
          await server.close();
          await apollo.stop().catch(() => undefined);
          await db.close();
        })()),
    };
  } catch (error) {
    await http?.close();
    await db.close();
    throw error;
  }
}

/** What the gateway alone knows: subscriptions and the WebSocket connections that carry them. */
function gatewayMetrics(metrics: ServiceMetrics, stats: Readonly<SubscriptionStats>, webSockets: GatewayWebSockets): void {
  metrics.gaugeFromReadings({
    name: 'touchline_subscriptions',
    help: 'Subscriptions open at the gateway (subscribers), and the upstream subscriptions that serve them (groups).',
    labelNames: ['kind'],
    read: () => [
      { labels: { kind: 'subscribers' }, value: stats.subscribers },
      { labels: { kind: 'groups' }, value: stats.groups },
    ],
  });
  metrics.gaugeFromReadings({
    name: 'touchline_websocket_connections',
    help: 'WebSocket connections open at the gateway.',
    read: () => [{ labels: {}, value: webSockets.connections }],
  });
  metrics.counterFromReadings({
    name: 'touchline_subscription_events_total',
    help: 'Events the gateway received from the subgraphs for its subscriptions (each completed once for all its subscribers).',
    read: () => [{ labels: {}, value: stats.events }],
  });
  metrics.counterFromReadings({
    name: 'touchline_subscription_entity_fetches_total',
    help: 'Requests the gateway sent to subgraphs to complete subscription events with fields they do not hold.',
    read: () => [{ labels: {}, value: stats.entityFetches }],
  });
}

async function readiness(db: Database, subgraphs: Record<string, string>, started: boolean, waitingFor: string[]): Promise<Record<string, string>> {
  const checks: Record<string, string> = { supergraph: started ? 'ok' : `composing (waiting for ${waitingFor.join(', ') || 'composition'})` };
  await Promise.all([
    db.ping().then(
      () => (checks.database = 'ok'),
      (error: Error) => (checks.database = error.message),
    ),
    ...Object.entries(subgraphs).map(async ([name, url]) => {
      try {
        const response = await fetch(new URL('/readyz', url).href, { timeout: 2_000 });
        checks[name] = response.ok ? 'ok' : `HTTP ${response.status}`;
      } catch (error) {
        checks[name] = (error as Error).message;
      }
    }),
  ]);
  return checks;
}
