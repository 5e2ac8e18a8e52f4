// Starts Touchline's services from a Config: one subgraph, the gateway, or everything in one process.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { requireInternalSecret, SUBGRAPH_NAMES, type Config, type SubgraphName } from '../common/config';
import { databaseLocation } from '../common/db/database';
import type { Logger } from '../common/logger';
import { startSubgraph, type RunningSubgraph, type SubgraphDefinition } from '../common/subgraph-server';
import type { ServiceContext } from '../common/graphql/context';
import { CredentialStore } from '../agent/credential-store';
import { launchAgents, type RunningAgents } from '../agent/launch';
import { startGateway, type RunningGateway } from '../gateway';
import { createLocalJoinToken } from '../subgraphs/scheduler/node/node.service';
import { accessEntities, accessMigrations } from '../gateway/access';
import { monitoring } from '../subgraphs/monitoring';
import { registry } from '../subgraphs/registry';
import { scheduler } from '../subgraphs/scheduler';

export const SUBGRAPHS: Record<SubgraphName, SubgraphDefinition<ServiceContext>> = {
  registry,
  scheduler,
  monitoring,
};

/** Every service's database: its tables and its migrations. */
export const DATABASES: Record<'gateway' | SubgraphName, Pick<SubgraphDefinition<ServiceContext>, 'entities' | 'migrations'>> = {
  gateway: { entities: accessEntities, migrations: accessMigrations },
  ...SUBGRAPHS,
};

export interface PlatformHooks {
  /** Called with every SQL statement a subgraph runs (tests count queries with it). */
  onQuery?: (subgraph: SubgraphName, sql: string) => void;
}

export function runSubgraph(
  name: SubgraphName,
  config: Config,
  logger: Logger,
  secret = requireInternalSecret(config),
  hooks: PlatformHooks = {},
  peers: Record<string, string> = config.subgraphUrls,
): Promise<RunningSubgraph> {
  const onQuery = hooks.onQuery;
  return startSubgraph(SUBGRAPHS[name], {
    config,
    port: config.subgraphPorts[name],
    secret,
    database: databaseLocation(config, name),
    logger,
    peers,
    onQuery: onQuery && ((sql) => onQuery(name, sql)),
  });
}

export function runGateway(
  config: Config,
  logger: Logger,
  secret = requireInternalSecret(config),
  subgraphs: Record<string, string> = config.subgraphUrls,
): Promise<RunningGateway> {
  return startGateway({
    host: config.host,
    port: config.gatewayPort,
    secret,
    database: databaseLocation(config, 'gateway'),
    logger,
    subgraphs,
    supergraphFile: config.supergraphFile,
    composePollMs: config.composePollSeconds * 1000,
    adminKey: config.adminKey,
    maxBodyBytes: config.maxBodyBytes,
    limits: { maxDepth: config.maxQueryDepth, maxComplexity: config.maxQueryComplexity },
    subscriptions: config.subscriptions,
    metricsToken: config.metricsToken,
  });
}

export interface Platform {
  gateway: RunningGateway;
  subgraphs: RunningSubgraph[];
  /** The secret the services share (and node credentials are signed with). */
  secret: string;
  stop(): Promise<void>;
}

/** Everything in this process: the three subgraphs, then the gateway in front of them. */
export async function runPlatform(config: Config, logger: Logger, hooks: PlatformHooks = {}): Promise<Platform> {
  const secret = config.internalSecret ?? localSecret(config.dataDir);
  const subgraphs: RunningSubgraph[] = [];
  try {
    // In order, each learning where the ones before it answer (the scheduler asks the registry for versions).
    const urls: Record<string, string> = { ...config.subgraphUrls };
    for (const name of SUBGRAPH_NAMES) {
      const subgraph = await runSubgraph(name, config, logger, secret, hooks, { ...urls });
      subgraphs.push(subgraph);
      urls[name] = subgraph.url;
    }
    const gateway = await runGateway(config, logger, secret, urls);
    await gateway.ready.catch(async (error: unknown) => {
      await gateway.stop();
      throw error;
    });
    return {
      gateway,
      subgraphs,
      secret,
      stop: async () => {
        await gateway.stop();
        await Promise.all(subgraphs.map((subgraph) => subgraph.stop()));
      },
    };
  } catch (error) {
    await Promise.all(subgraphs.map((subgraph) => subgraph.stop()));
    throw error;
  }
}

// What `touchline compose` needs, loaded with the services.
export { subgraphSdl } from '../common/graphql/subgraph-schema';
export { ACCESS_SUBGRAPH, buildAccessSchema } from '../gateway/access';
export { composeSupergraph } from '../gateway/supergraph';

/**
 * The secret of an installation that runs in one process: made on the first start and kept in the data folder,
 * because node credentials are signed with it and must still be valid after a restart.
 */
function localSecret(dataDir: string): string {
  const file = path.join(dataDir, 'internal-secret');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString('hex');
    fs.writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}

/** The agent `touchline up` runs for this machine: enrolled with a join token made for it on its first start. */
export async function startLocalAgent(platform: Platform, config: Config, logger: Logger): Promise<RunningAgents> {
  const gatewayUrl = platform.gateway.url;
  const stored = new CredentialStore(config.agent.stateDir).load();
  const scheduler = platform.subgraphs.find((subgraph) => subgraph.name === 'scheduler')!;
  const joinToken = stored?.gatewayUrl === gatewayUrl ? undefined : await createLocalJoinToken(scheduler.db, platform.secret);
  return launchAgents({ gateway: gatewayUrl, joinToken, runtimes: config.agent.runtimes ?? 'process' }, config, logger.child({ service: 'agent' }));
}

export { AGENT_USAGE, launchAgents, parseAgentFlags } from '../agent/launch';
