// Touchline's configuration: the environment, parsed and validated once at start-up into one frozen object.
// Nothing else in the code base reads process.env.
import path from 'node:path';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** A whole number written in plain decimal digits (no "0x10", "1e3" or spaces), between min and max. */
const wholeNumber = (fallback: number, min: number, max: number, expected: string) =>
  z
    .string()
    .regex(/^\d{1,15}$/, expected)
    .transform(Number)
    .refine((value) => value >= min && value <= max, expected)
    .prefault(String(fallback));
const port = (fallback: number) => wholeNumber(fallback, 0, 65535, 'must be a port number from 0 to 65535');
const positiveInt = (fallback: number) => wholeNumber(fallback, 1, Number.MAX_SAFE_INTEGER, 'must be a whole number above 0');
function flag(fallback: boolean) {
  return z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { error: 'must be true or false' })
    .transform((value) => ['true', '1', 'yes', 'on'].includes(value))
    .prefault(String(fallback) as 'true');
}
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

const environment = z.object({
  PORT: port(4000),
  TOUCHLINE_HOST: z.string().min(1).default('127.0.0.1'),
  TOUCHLINE_REGISTRY_PORT: port(4001),
  TOUCHLINE_SCHEDULER_PORT: port(4002),
  TOUCHLINE_MONITORING_PORT: port(4003),
  TOUCHLINE_REGISTRY_URL: httpUrl.optional(),
  TOUCHLINE_SCHEDULER_URL: httpUrl.optional(),
  TOUCHLINE_MONITORING_URL: httpUrl.optional(),
  TOUCHLINE_DATA_DIR: z.string().min(1).default('data'),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
    .optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  TOUCHLINE_REPLAY_WINDOW: positiveInt(10_000),
  TOUCHLINE_SUBSCRIBER_BUFFER: positiveInt(1_000),
  TOUCHLINE_MAX_SUBSCRIPTIONS_PER_CONNECTION: positiveInt(100),
  TOUCHLINE_MAX_SUBSCRIPTIONS_PER_KEY: positiveInt(1_000),
  TOUCHLINE_WS_IDLE_TIMEOUT_SECONDS: wholeNumber(300, 0, 86_400, 'must be a whole number of seconds (0 never closes idle connections)'),
  TOUCHLINE_WS_KEEPALIVE_SECONDS: wholeNumber(15, 1, 3_600, 'must be a whole number of seconds from 1 to 3600'),
  TOUCHLINE_INTERNAL_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  TOUCHLINE_ADMIN_KEY: z
    .string()
    .min(20, 'must be at least 20 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  TOUCHLINE_METRICS_TOKEN: z
    .string()
    .min(20, 'must be at least 20 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  TOUCHLINE_SUPERGRAPH_FILE: z.string().min(1).optional(),
  // A full metrics report (10,000 samples with a few labels each, as objects) is about 2 MB.
  TOUCHLINE_MAX_BODY_BYTES: positiveInt(4 * 1024 * 1024),
  TOUCHLINE_MAX_QUERY_DEPTH: positiveInt(15),
  TOUCHLINE_MAX_QUERY_COMPLEXITY: positiveInt(10_000),
  TOUCHLINE_COMPOSE_POLL_SECONDS: wholeNumber(10, 0, 86_400, 'must be a whole number of seconds (0 turns polling off)'),
  TOUCHLINE_PLACEMENT_STRATEGY: z.enum(['binpack', 'spread'], { error: 'must be binpack or spread' }).default('binpack'),
  TOUCHLINE_PREEMPTION: flag(true),
  TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: wholeNumber(2, 1, 3_600, 'must be a whole number of seconds from 1 to 3600'),
  TOUCHLINE_HEARTBEAT_TIMEOUT_SECONDS: wholeNumber(15, 2, 86_400, 'must be a whole number of seconds from 2 to 86400'),
  TOUCHLINE_NODE_LOST_GRACE_SECONDS: wholeNumber(30, 0, 86_400, 'must be a whole number of seconds from 0 to 86400'),
  TOUCHLINE_JOB_LOG_LINES: wholeNumber(5_000, 10, 1_000_000, 'must be a whole number of lines from 10 to 1000000'),
  TOUCHLINE_METRICS_RAW_RETENTION_HOURS: wholeNumber(24, 1, 24 * 365, 'must be a whole number of hours from 1 to 8760'),
  TOUCHLINE_METRICS_ROLLUP_RETENTION_DAYS: wholeNumber(30, 1, 3_650, 'must be a whole number of days from 1 to 3650'),
  TOUCHLINE_METRICS_COMPACTION_INTERVAL_SECONDS: wholeNumber(60, 1, 86_400, 'must be a whole number of seconds from 1 to 86400'),
  TOUCHLINE_ALERT_EVALUATION_SECONDS: wholeNumber(15, 1, 3_600, 'must be a whole number of seconds from 1 to 3600'),
  TOUCHLINE_ALERT_REPEAT_INTERVAL_SECONDS: wholeNumber(4 * 3_600, 0, 7 * 86_400, 'must be a whole number of seconds from 0 (never repeat) to 604800'),
  TOUCHLINE_ALERT_HISTORY_DAYS: wholeNumber(30, 1, 3_650, 'must be a whole number of days from 1 to 3650'),
  TOUCHLINE_WEBHOOK_TIMEOUT_SECONDS: wholeNumber(10, 1, 300, 'must be a whole number of seconds from 1 to 300'),
  TOUCHLINE_WEBHOOK_MAX_ATTEMPTS: wholeNumber(10, 1, 100, 'must be a whole number of attempts from 1 to 100'),
  TOUCHLINE_WEBHOOK_RETRY_BASE_MS: wholeNumber(1_000, 10, 3_600_000, 'must be a whole number of milliseconds from 10 to 3600000'),
  TOUCHLINE_WEBHOOK_RETRY_MAX_SECONDS: wholeNumber(300, 1, 86_400, 'must be a whole number of seconds from 1 to 86400'),
  TOUCHLINE_PUBLIC_URL: httpUrl.optional(),
  TOUCHLINE_GATEWAY_URL: httpUrl.optional(),
  TOUCHLINE_JOIN_TOKEN: z.string().startsWith('tlj_', 'must be a join token (tlj_...) from createJoinToken').optional(),
  TOUCHLINE_NODE_NAME: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a lowercase name of letters, digits and inner hyphens, at most 63').optional(),
  TOUCHLINE_NODE_LABELS: z.string().optional(),
  TOUCHLINE_RUNTIMES: z.string().optional(),
  TOUCHLINE_AGENT_STATE_DIR: z.string().min(1).optional(),
  TOUCHLINE_JOB_PATH: z.string().optional(),
  PATH: z.string().optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  TOUCHLINE_LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'must be json or pretty' }).optional(),
});

const SECRET_VARIABLES = new Set(['TOUCHLINE_INTERNAL_SECRET', 'TOUCHLINE_ADMIN_KEY', 'TOUCHLINE_METRICS_TOKEN', 'DATABASE_URL', 'REDIS_URL', 'TOUCHLINE_JOIN_TOKEN']);

export type SubgraphName = 'registry' | 'scheduler' | 'monitoring';
export const SUBGRAPH_NAMES: readonly SubgraphName[] = ['registry', 'scheduler', 'monitoring'];

export interface Config {
  /** Address every service binds to: loopback unless told otherwise. */
  host: string;
  gatewayPort: number;
  subgraphPorts: Record<SubgraphName, number>;
  /** Where the gateway reaches each subgraph's GraphQL endpoint. */
  subgraphUrls: Record<SubgraphName, string>;
  dataDir: string;
  databaseUrl: string | undefined;
  internalSecret: string | undefined;
  adminKey: string | undefined;
  /** Bearer token for `GET /metrics`; without it, only loopback clients may scrape. */
  metricsToken: string | undefined;
  supergraphFile: string | undefined;
  maxBodyBytes: number;
  maxQueryDepth: number;
  maxQueryComplexity: number;
  composePollSeconds: number;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  scheduler: Readonly<SchedulerSettings>;
  agent: Readonly<AgentSettings>;
  subscriptions: Readonly<SubscriptionSettings>;
  monitoring: Readonly<MonitoringSettings>;
}

export interface MonitoringSettings {
  /** How long raw metric samples are kept; older ones live on as per-minute rollups. */
  metricsRawRetentionHours: number;
  /** How long per-minute rollups are kept. */
  metricsRollupRetentionDays: number;
  /** How often compaction rolls old samples up and deletes what retention no longer keeps. */
  metricsCompactionIntervalSeconds: number;
  /** How often alert rules are evaluated (by one instance at a time). */
  alertEvaluationIntervalSeconds: number;
  /** How often receivers hear again of an alert still firing and not acknowledged (0: never). */
  alertRepeatIntervalSeconds: number;
  /** How long alert history and notification deliveries are kept. */
  alertHistoryDays: number;
  webhooks: Readonly<WebhookSettings>;
  /** The gateway's address as people reach it, for links in notifications (Alertmanager's externalURL). */
  publicUrl: string | undefined;
}

export interface WebhookSettings {
  /** How long one delivery attempt may take. */
  timeoutSeconds: number;
  /** Attempts before a delivery is given up as FAILED. */
  maxAttempts: number;
  /** The wait before the second attempt; it doubles with each failure (with jitter) up to `retryMaxSeconds`. */
  retryBaseMs: number;
  retryMaxSeconds: number;
}

export interface SubscriptionSettings {
  /** Redis, for the doorbell between instances (common/events/bus.ts); without it, one process or polling. */
  redisUrl: string | undefined;
  /** How many events back a subscription may resume (`after`). */
  replayWindow: number;
  /** How many events may wait for one subscriber before it is cut off as too slow. */
  subscriberBuffer: number;
  maxPerConnection: number;
  maxPerKey: number;
  /** A connection with no subscription for this long is closed (0: never). */
  idleTimeoutSeconds: number;
  /** How often the gateway pings each connection. */
  keepAliveSeconds: number;
}

export interface SchedulerSettings {
  strategy: 'binpack' | 'spread';
  preemption: boolean;
  /** How often agents are asked to report. */
  heartbeatIntervalSeconds: number;
  /** A node silent this long is NOT_READY: it takes no new jobs. */
  heartbeatTimeoutSeconds: number;
  /** A NOT_READY node silent this much longer is DOWN: its jobs start again elsewhere. */
  nodeLostGraceSeconds: number;
  /** How many log lines are kept per job (the newest). */
  jobLogLines: number;
}

/** Defaults for `touchline agent`; its command-line flags take precedence. */
export interface AgentSettings {
  gatewayUrl: string | undefined;
  joinToken: string | undefined;
  nodeName: string | undefined;
  labels: string | undefined;
  runtimes: string | undefined;
  stateDir: string;
  /** The PATH of jobs run by the process runtime (and where their programs are found). */
  jobPath: string | undefined;
}

/** Parses an environment (process.env at start-up, or a test's own) into a Config; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined>, options: { isTTY?: boolean } = {}): Readonly<Config> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = environment.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        const shown = SECRET_VARIABLES.has(name) ? '' : ` (got ${JSON.stringify(present[name])})`;
        return `${name}: ${issue.message}${shown}`;
      }),
    );
  }
  const e = parsed.data;
  const subgraphPorts = {
    registry: e.TOUCHLINE_REGISTRY_PORT,
    scheduler: e.TOUCHLINE_SCHEDULER_PORT,
    monitoring: e.TOUCHLINE_MONITORING_PORT,
  };
  const localUrl = (name: SubgraphName) => `http://127.0.0.1:${subgraphPorts[name]}/graphql`;
  return Object.freeze({
    host: e.TOUCHLINE_HOST,
    gatewayPort: e.PORT,
    subgraphPorts: Object.freeze(subgraphPorts),
    subgraphUrls: Object.freeze({
      registry: e.TOUCHLINE_REGISTRY_URL ?? localUrl('registry'),
      scheduler: e.TOUCHLINE_SCHEDULER_URL ?? localUrl('scheduler'),
      monitoring: e.TOUCHLINE_MONITORING_URL ?? localUrl('monitoring'),
    }),
    dataDir: path.resolve(e.TOUCHLINE_DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    internalSecret: e.TOUCHLINE_INTERNAL_SECRET,
    adminKey: e.TOUCHLINE_ADMIN_KEY,
    metricsToken: e.TOUCHLINE_METRICS_TOKEN,
    supergraphFile: e.TOUCHLINE_SUPERGRAPH_FILE && path.resolve(e.TOUCHLINE_SUPERGRAPH_FILE),
    maxBodyBytes: e.TOUCHLINE_MAX_BODY_BYTES,
    maxQueryDepth: e.TOUCHLINE_MAX_QUERY_DEPTH,
    maxQueryComplexity: e.TOUCHLINE_MAX_QUERY_COMPLEXITY,
    composePollSeconds: e.TOUCHLINE_COMPOSE_POLL_SECONDS,
    logLevel: e.LOG_LEVEL,
    logFormat: e.TOUCHLINE_LOG_FORMAT ?? (options.isTTY ? 'pretty' : 'json'),
    scheduler: Object.freeze({
      strategy: e.TOUCHLINE_PLACEMENT_STRATEGY,
      preemption: e.TOUCHLINE_PREEMPTION,
      heartbeatIntervalSeconds: e.TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS,
      heartbeatTimeoutSeconds: e.TOUCHLINE_HEARTBEAT_TIMEOUT_SECONDS,
      nodeLostGraceSeconds: e.TOUCHLINE_NODE_LOST_GRACE_SECONDS,
      jobLogLines: e.TOUCHLINE_JOB_LOG_LINES,
    }),
    subscriptions: Object.freeze({
      redisUrl: e.REDIS_URL,
      replayWindow: e.TOUCHLINE_REPLAY_WINDOW,
      subscriberBuffer: e.TOUCHLINE_SUBSCRIBER_BUFFER,
      maxPerConnection: e.TOUCHLINE_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxPerKey: e.TOUCHLINE_MAX_SUBSCRIPTIONS_PER_KEY,
      idleTimeoutSeconds: e.TOUCHLINE_WS_IDLE_TIMEOUT_SECONDS,
      keepAliveSeconds: e.TOUCHLINE_WS_KEEPALIVE_SECONDS,
    }),
    monitoring: Object.freeze({
      metricsRawRetentionHours: e.TOUCHLINE_METRICS_RAW_RETENTION_HOURS,
      metricsRollupRetentionDays: e.TOUCHLINE_METRICS_ROLLUP_RETENTION_DAYS,
      metricsCompactionIntervalSeconds: e.TOUCHLINE_METRICS_COMPACTION_INTERVAL_SECONDS,
      alertEvaluationIntervalSeconds: e.TOUCHLINE_ALERT_EVALUATION_SECONDS,
      alertRepeatIntervalSeconds: e.TOUCHLINE_ALERT_REPEAT_INTERVAL_SECONDS,
      alertHistoryDays: e.TOUCHLINE_ALERT_HISTORY_DAYS,
      webhooks: Object.freeze({
        timeoutSeconds: e.TOUCHLINE_WEBHOOK_TIMEOUT_SECONDS,
        maxAttempts: e.TOUCHLINE_WEBHOOK_MAX_ATTEMPTS,
        retryBaseMs: e.TOUCHLINE_WEBHOOK_RETRY_BASE_MS,
        retryMaxSeconds: e.TOUCHLINE_WEBHOOK_RETRY_MAX_SECONDS,
      }),
      publicUrl: e.TOUCHLINE_PUBLIC_URL,
    }),
    agent: Object.freeze({
      gatewayUrl: e.TOUCHLINE_GATEWAY_URL,
      joinToken: e.TOUCHLINE_JOIN_TOKEN,
      nodeName: e.TOUCHLINE_NODE_NAME,
      labels: e.TOUCHLINE_NODE_LABELS,
      runtimes: e.TOUCHLINE_RUNTIMES,
      stateDir: path.resolve(e.TOUCHLINE_AGENT_STATE_DIR ?? path.join(e.TOUCHLINE_DATA_DIR, 'agent')),
      jobPath: e.TOUCHLINE_JOB_PATH ?? e.PATH,
    }),
  });
}

/** The HMAC secret shared by the gateway and the subgraphs; required whenever services run as separate processes. */
export function requireInternalSecret(config: Config): string {
  if (!config.internalSecret) {
    throw new ConfigError([
      'TOUCHLINE_INTERNAL_SECRET: required when services run separately (the same value for the gateway and every subgraph, at least 32 characters; for example `openssl rand -hex 32`)',
    ]);
  }
  return config.internalSecret;
}
