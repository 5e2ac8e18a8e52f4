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
  TOUCHLINE_INTERNAL_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  TOUCHLINE_ADMIN_KEY: z
    .string()
    .min(20, 'must be at least 20 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  TOUCHLINE_SUPERGRAPH_FILE: z.string().min(1).optional(),
  TOUCHLINE_MAX_BODY_BYTES: positiveInt(1024 * 1024),
  TOUCHLINE_MAX_QUERY_DEPTH: positiveInt(15),
  TOUCHLINE_MAX_QUERY_COMPLEXITY: positiveInt(10_000),
  TOUCHLINE_COMPOSE_POLL_SECONDS: wholeNumber(10, 0, 86_400, 'must be a whole number of seconds (0 turns polling off)'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  TOUCHLINE_LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'must be json or pretty' }).optional(),
});

const SECRET_VARIABLES = new Set(['TOUCHLINE_INTERNAL_SECRET', 'TOUCHLINE_ADMIN_KEY', 'DATABASE_URL']);

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
  supergraphFile: string | undefined;
  maxBodyBytes: number;
  maxQueryDepth: number;
  maxQueryComplexity: number;
  composePollSeconds: number;
  logLevel: string;
  logFormat: 'json' | 'pretty';
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
    supergraphFile: e.TOUCHLINE_SUPERGRAPH_FILE && path.resolve(e.TOUCHLINE_SUPERGRAPH_FILE),
    maxBodyBytes: e.TOUCHLINE_MAX_BODY_BYTES,
    maxQueryDepth: e.TOUCHLINE_MAX_QUERY_DEPTH,
    maxQueryComplexity: e.TOUCHLINE_MAX_QUERY_COMPLEXITY,
    composePollSeconds: e.TOUCHLINE_COMPOSE_POLL_SECONDS,
    logLevel: e.LOG_LEVEL,
    logFormat: e.TOUCHLINE_LOG_FORMAT ?? (options.isTTY ? 'pretty' : 'json'),
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
