#!/usr/bin/env node
// The `touchline` command: runs Touchline embedded on one machine, or one service at a time in production.
import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { ConfigError, loadConfig, SUBGRAPH_NAMES, type Config, type SubgraphName } from '../common/config';
import { createLogger, type Logger } from '../common/logger';

// The services are loaded only by the commands that run them, so that `health` and `help` start at once.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const services = async () => require('./platform') as typeof import('./platform');

const USAGE = `Usage: touchline <command>

Commands:
  up                      run everything on this machine: gateway, registry, scheduler, monitoring (npm start)
  gateway                 run the gateway alone (production)
  subgraph <name>         run one subgraph alone: registry, scheduler or monitoring (production)
  agent --gateway URL --join-token T [options]
                          run the node agent on this machine (touchline agent --help for its options)
  compose [--out FILE]    compose the supergraph offline and write it to FILE (default: stdout), to pin it
                          with TOUCHLINE_SUPERGRAPH_FILE
  health [service]        exit 0 if the service (default: gateway) on this machine answers /healthz, 1 if not;
                          for container health checks
  help                    show this help

Configuration comes from environment variables; see README.md.`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  const config = loadConfig(process.env, { isTTY: process.stdout.isTTY });
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });

  switch (command) {
    case 'up':
      return up(config, logger);
    case 'health':
      return health(config, rest[0] ?? 'gateway');
    case 'gateway': {
      const { runGateway } = await services();
      const gateway = await runGateway(config, logger);
      if (gateway.bootstrapKey) console.log(adminKeyNotice(gateway.bootstrapKey));
      stopOnSignal(logger, () => gateway.stop());
      await gateway.ready;
      return;
    }
    case 'subgraph': {
      const name = rest[0];
      if (!isSubgraphName(name)) throw new UsageError(`touchline subgraph needs one of ${SUBGRAPH_NAMES.join(', ')} (got ${name ?? 'nothing'})`);
      const { runSubgraph } = await services();
      const subgraph = await runSubgraph(name, config, logger);
      stopOnSignal(logger, () => subgraph.stop());
      return;
    }
    case 'compose':
      return compose(config, rest);
    case 'agent':
      return agent(config, logger, rest);
    default:
      throw new UsageError(`Unknown command "${command}"`);
  }
}

async function up(config: Config, logger: Logger): Promise<void> {
  const { runPlatform, startLocalAgent } = await services();
  const platform = await runPlatform(config, logger);
  const local = await startLocalAgent(platform, config, logger).catch(async (error: unknown) => {
    await platform.stop();
    throw error;
  });
  stopOnSignal(logger, async () => {
    await local.stop();
    await platform.stop();
  });
  const where = config.databaseUrl ? 'PostgreSQL' : `SQLite files in ${config.dataDir}`;
  const banner = [
    '',
    'Touchline is running.',
    `  GraphQL endpoint and playground: ${platform.gateway.url}`,
    `  Subscriptions (graphql-ws): ${platform.gateway.url.replace(/^http/, 'ws')}`,
    `  Data: ${where}`,
    `  Local node: ${local.agents[0]?.nodeName} (process runtime), ready for jobs`,
    '',
    ...(platform.gateway.bootstrapKey ? [adminKeyNotice(platform.gateway.bootstrapKey)] : []),
  ];
  // One write, so that whoever reads the output sees the banner whole.
  console.log(banner.join('\n'));
}

async function compose(config: Config, args: string[]): Promise<void> {
  const outIndex = args.indexOf('--out');
  const out = outIndex >= 0 ? args[outIndex + 1] : undefined;
  if (outIndex >= 0 && !out) throw new UsageError('--out needs a file name');
  const { SUBGRAPHS, subgraphSdl, buildAccessSchema, ACCESS_SUBGRAPH, composeSupergraph } = await services();
  const subgraphs = [{ name: ACCESS_SUBGRAPH, url: `local://${ACCESS_SUBGRAPH}`, sdl: subgraphSdl(await buildAccessSchema()) }];
  for (const name of SUBGRAPH_NAMES) {
    subgraphs.push({ name, url: config.subgraphUrls[name], sdl: subgraphSdl(await SUBGRAPHS[name].buildSchema()) });
  }
  const supergraph = composeSupergraph(subgraphs);
  if (!out) {
    process.stdout.write(supergraph);
    return;
  }
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, supergraph);
  console.error(`Wrote the supergraph to ${out} (subgraphs: ${subgraphs.map((s) => `${s.name} at ${s.url}`).join(', ')}).`);
}

async function agent(config: Config, logger: Logger, args: string[]): Promise<void> {
  const { launchAgents, parseAgentFlags, AGENT_USAGE } = await services();
  if (args.includes('--help') || args.includes('-h')) {
    console.log(AGENT_USAGE);
    return;
  }
  const agents = await launchAgents(parseAgentFlags(args), config, logger);
  stopOnSignal(logger, () => agents.stop());
}

async function health(config: Config, service: string): Promise<void> {
  if (service !== 'gateway' && !isSubgraphName(service)) {
    throw new UsageError(`touchline health takes gateway or one of ${SUBGRAPH_NAMES.join(', ')} (got ${service})`);
  }
  const port = service === 'gateway' ? config.gatewayPort : config.subgraphPorts[service];
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const status = await new Promise<number>((resolve) => {
    http
      .get({ host, port, path: '/healthz', timeout: 4_000 }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
      .on('timeout', () => resolve(0))
      .on('error', () => resolve(0));
  });
  if (status !== 200) {
    console.error(`${service} on ${host}:${port} is not healthy (${status === 0 ? 'no answer' : `HTTP ${status}`})`);
    process.exitCode = 1;
  }
}

function adminKeyNotice(bootstrap: { key: string; generated: boolean }): string {
  if (!bootstrap.generated) return 'Created the first admin API key from TOUCHLINE_ADMIN_KEY.\n';
  return [
    'A first admin API key was created. It is shown only this once: copy it now.',
    '',
    `    ${bootstrap.key}`,
    '',
    'Send it as the header  Authorization: Bearer <key>  (in the playground: the Headers tab).',
    '',
  ].join('\n');
}

function stopOnSignal(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'could not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

class UsageError extends Error {}

function isSubgraphName(name: string | undefined): name is SubgraphName {
  return (SUBGRAPH_NAMES as readonly string[]).includes(name ?? '');
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof UsageError || (error as Error).name === 'AgentUsageError') {
    console.error((error as Error).message);
    if (error instanceof UsageError) console.error(`\n${USAGE}`);
  } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    const { port } = error as { port?: number };
    console.error(`Port ${port} is already in use: is another Touchline running? Stop it, or choose other ports (PORT, TOUCHLINE_REGISTRY_PORT, ...).`);
  } else {
    console.error(`Touchline could not start: ${(error as Error).stack ?? String(error)}`);
  }
  process.exit(1);
});
