// One Touchline service for bench/subscriptions.ts, in a process of its own (forked, configured by its environment):
// `gateway`, `registry`, `scheduler` or `monitoring`. It answers the benchmark over IPC with its CPU time and memory,
// and the gateway also with its subscription counters (RunningGateway.subscriptionStats).
import 'reflect-metadata';
import { loadConfig, SUBGRAPH_NAMES, type SubgraphName } from '../common/config';
import { createLogger } from '../common/logger';
import type { SubscriptionStats } from '../gateway/subscriptions/federated-subscriptions';
import { runGateway, runSubgraph } from '../cli/platform';

/** What the parent asks. */
export type ServiceRequest = { type: 'report'; id: number } | { type: 'stop' };

/** What this process says: once ready, then one answer per report. */
export type ServiceMessage =
  | { type: 'ready'; url: string }
  | { type: 'failed'; error: string }
  | { type: 'report'; id: number; report: ServiceReport };

export interface ServiceReport {
  cpuMicros: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** The gateway's subscription counters; undefined for a subgraph. */
  stats: SubscriptionStats | undefined;
}

type Role = 'gateway' | SubgraphName;

function send(message: ServiceMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const role = process.argv[2] as Role;
  if (role !== 'gateway' && !SUBGRAPH_NAMES.includes(role)) throw new Error(`unknown service ${role}`);
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, format: 'json' });
  let subscriptionStats: Readonly<SubscriptionStats> | undefined;

  let stop: () => Promise<void>;
  let url: string;
  if (role === 'gateway') {
    const gateway = await runGateway(config, logger);
    await gateway.ready;
    stop = () => gateway.stop();
    url = gateway.url;
    subscriptionStats = gateway.subscriptionStats;
  } else {
    const subgraph = await runSubgraph(role, config, logger);
    stop = () => subgraph.stop();
    url = subgraph.url;
  }

  let stopping = false;
  const stopNow = () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('message', (message: ServiceRequest) => {
    if (message.type === 'stop') return stopNow();
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const stats = subscriptionStats;
    send({
      type: 'report',
      id: message.id,
      report: { cpuMicros: cpu.user + cpu.system, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, stats: stats && { ...stats } },
    });
  });
  // The benchmark stops us by IPC or a signal; if it dies, the IPC channel closes and we go too.
  process.on('disconnect', stopNow);
  process.on('SIGTERM', stopNow);
  process.on('SIGINT', stopNow);
  send({ type: 'ready', url });
}

main().catch((error: unknown) => {
  send({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
