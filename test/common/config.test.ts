// Start-up configuration: defaults, overrides, and a bad environment reported all at once without leaking secrets.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, requireInternalSecret } from '../../common/config';

/** The error loadConfig throws for `env`, for tests that expect one. */
function configErrorFor(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('loadConfig', () => {
  it('runs everything on loopback with the documented ports when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      host: '127.0.0.1',
      gatewayPort: 4000,
      subgraphPorts: { registry: 4001, scheduler: 4002, monitoring: 4003 },
      subgraphUrls: {
        registry: 'http://127.0.0.1:4001/graphql',
        scheduler: 'http://127.0.0.1:4002/graphql',
        monitoring: 'http://127.0.0.1:4003/graphql',
      },
      dataDir: path.join(process.cwd(), 'data'),
      databaseUrl: undefined,
      internalSecret: undefined,
      adminKey: undefined,
      metricsToken: undefined,
      supergraphFile: undefined,
      maxBodyBytes: 4 * 1024 * 1024,
      maxQueryDepth: 15,
      maxQueryComplexity: 10_000,
      composePollSeconds: 10,
      logLevel: 'info',
      logFormat: 'json',
      scheduler: {
        strategy: 'binpack',
        preemption: true,
        heartbeatIntervalSeconds: 2,
        heartbeatTimeoutSeconds: 15,
        nodeLostGraceSeconds: 30,
        jobLogLines: 5_000,
      },
      subscriptions: {
        redisUrl: undefined,
        replayWindow: 10_000,
        subscriberBuffer: 1_000,
        maxPerConnection: 100,
        maxPerKey: 1_000,
        idleTimeoutSeconds: 300,
        keepAliveSeconds: 15,
      },
      monitoring: {
        metricsRawRetentionHours: 24,
        metricsRollupRetentionDays: 30,
        metricsCompactionIntervalSeconds: 60,
        alertEvaluationIntervalSeconds: 15,
        alertRepeatIntervalSeconds: 14_400,
        alertHistoryDays: 30,
        webhooks: { timeoutSeconds: 10, maxAttempts: 10, retryBaseMs: 1_000, retryMaxSeconds: 300 },
        publicUrl: undefined,
      },
      agent: {
        gatewayUrl: undefined,
        joinToken: undefined,
        nodeName: undefined,
        labels: undefined,
        runtimes: undefined,
        stateDir: path.join(process.cwd(), 'data', 'agent'),
        jobPath: undefined,
      },
    });
    expect(path.isAbsolute(config.dataDir)).toBe(true);
  });

  it('takes every value from the environment it is given', () => {
    const config = loadConfig({
      PORT: '8080',
      TOUCHLINE_HOST: '0.0.0.0',
      TOUCHLINE_REGISTRY_PORT: '9001',
      TOUCHLINE_SCHEDULER_PORT: '9002',
      TOUCHLINE_MONITORING_PORT: '0',
      TOUCHLINE_DATA_DIR: '/var/lib/touchline',
      DATABASE_URL: 'postgresql://touchline:pw@db.internal:5432/touchline',
      TOUCHLINE_INTERNAL_SECRET: 'x'.repeat(32),
      TOUCHLINE_ADMIN_KEY: 'tl_admin_0123456789abcdef',
      TOUCHLINE_METRICS_TOKEN: 'scrape-token-0123456789',
      TOUCHLINE_SUPERGRAPH_FILE: 'supergraph.graphql',
      TOUCHLINE_MAX_BODY_BYTES: '4096',
      TOUCHLINE_MAX_QUERY_DEPTH: '8',
      TOUCHLINE_MAX_QUERY_COMPLEXITY: '500',
      TOUCHLINE_COMPOSE_POLL_SECONDS: '0',
      LOG_LEVEL: 'debug',
      TOUCHLINE_LOG_FORMAT: 'pretty',
      TOUCHLINE_PLACEMENT_STRATEGY: 'spread',
      TOUCHLINE_PREEMPTION: 'false',
      TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: '5',
      TOUCHLINE_HEARTBEAT_TIMEOUT_SECONDS: '20',
      TOUCHLINE_NODE_LOST_GRACE_SECONDS: '0',
      TOUCHLINE_JOB_LOG_LINES: '100',
      TOUCHLINE_GATEWAY_URL: 'https://touchline.internal/graphql',
      TOUCHLINE_JOIN_TOKEN: 'tlj_abc.def',
      TOUCHLINE_NODE_NAME: 'gpu-box-1',
      TOUCHLINE_NODE_LABELS: 'gpu=a100',
      TOUCHLINE_RUNTIMES: 'docker',
      TOUCHLINE_AGENT_STATE_DIR: '/var/lib/touchline-agent',
      REDIS_URL: 'redis://cache.internal:6379',
      TOUCHLINE_REPLAY_WINDOW: '500',
      TOUCHLINE_SUBSCRIBER_BUFFER: '50',
      TOUCHLINE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '10',
      TOUCHLINE_MAX_SUBSCRIPTIONS_PER_KEY: '20',
      TOUCHLINE_WS_IDLE_TIMEOUT_SECONDS: '0',
      TOUCHLINE_WS_KEEPALIVE_SECONDS: '30',
      TOUCHLINE_METRICS_RAW_RETENTION_HOURS: '6',
      TOUCHLINE_METRICS_ROLLUP_RETENTION_DAYS: '90',
      TOUCHLINE_METRICS_COMPACTION_INTERVAL_SECONDS: '300',
      TOUCHLINE_ALERT_EVALUATION_SECONDS: '30',
      TOUCHLINE_ALERT_REPEAT_INTERVAL_SECONDS: '0',
      TOUCHLINE_ALERT_HISTORY_DAYS: '7',
      TOUCHLINE_WEBHOOK_TIMEOUT_SECONDS: '5',
      TOUCHLINE_WEBHOOK_MAX_ATTEMPTS: '3',
      TOUCHLINE_WEBHOOK_RETRY_BASE_MS: '250',
      TOUCHLINE_WEBHOOK_RETRY_MAX_SECONDS: '60',
      TOUCHLINE_PUBLIC_URL: 'https://touchline.example.com',
    });
    expect(config).toEqual({
      host: '0.0.0.0',
      gatewayPort: 8080,
      subgraphPorts: { registry: 9001, scheduler: 9002, monitoring: 0 },
      subgraphUrls: {
        registry: 'http://127.0.0.1:9001/graphql',
        scheduler: 'http://127.0.0.1:9002/graphql',
        monitoring: 'http://127.0.0.1:0/graphql',
      },
      dataDir: '/var/lib/touchline',
      databaseUrl: 'postgresql://touchline:pw@db.internal:5432/touchline',
      internalSecret: 'x'.repeat(32),
      adminKey: 'tl_admin_0123456789abcdef',
      metricsToken: 'scrape-token-0123456789',
      supergraphFile: path.join(process.cwd(), 'supergraph.graphql'),
      maxBodyBytes: 4096,
      maxQueryDepth: 8,
      maxQueryComplexity: 500,
      composePollSeconds: 0,
      logLevel: 'debug',
      logFormat: 'pretty',
      scheduler: {
        strategy: 'spread',
        preemption: false,
        heartbeatIntervalSeconds: 5,
        heartbeatTimeoutSeconds: 20,
        nodeLostGraceSeconds: 0,
        jobLogLines: 100,
      },
      subscriptions: {
        redisUrl: 'redis://cache.internal:6379',
        replayWindow: 500,
        subscriberBuffer: 50,
        maxPerConnection: 10,
        maxPerKey: 20,
        idleTimeoutSeconds: 0,
        keepAliveSeconds: 30,
      },
      monitoring: {
        metricsRawRetentionHours: 6,
        metricsRollupRetentionDays: 90,
        metricsCompactionIntervalSeconds: 300,
        alertEvaluationIntervalSeconds: 30,
        alertRepeatIntervalSeconds: 0,
        alertHistoryDays: 7,
        webhooks: { timeoutSeconds: 5, maxAttempts: 3, retryBaseMs: 250, retryMaxSeconds: 60 },
        publicUrl: 'https://touchline.example.com',
      },
      agent: {
        gatewayUrl: 'https://touchline.internal/graphql',
        joinToken: 'tlj_abc.def',
        nodeName: 'gpu-box-1',
        labels: 'gpu=a100',
        runtimes: 'docker',
        stateDir: '/var/lib/touchline-agent',
        jobPath: undefined,
      },
    });
  });

  it('uses subgraph URLs given explicitly instead of deriving them from the ports', () => {
    const config = loadConfig({
      TOUCHLINE_REGISTRY_URL: 'https://registry.internal/graphql',
      TOUCHLINE_SCHEDULER_PORT: '5002',
    });
    expect(config.subgraphUrls).toEqual({
      registry: 'https://registry.internal/graphql',
      scheduler: 'http://127.0.0.1:5002/graphql',
      monitoring: 'http://127.0.0.1:4003/graphql',
    });
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ PORT: '', TOUCHLINE_HOST: '', DATABASE_URL: '', TOUCHLINE_ADMIN_KEY: '', LOG_LEVEL: '', TOUCHLINE_DATA_DIR: '' });
    expect(config).toMatchObject({ gatewayPort: 4000, host: '127.0.0.1', databaseUrl: undefined, adminKey: undefined, logLevel: 'info' });
    expect(config.dataDir).toBe(path.resolve('data'));
  });

  it('reports every bad variable at once, each by name with what it must be', () => {
    const error = configErrorFor({
      PORT: 'eighty',
      TOUCHLINE_REGISTRY_PORT: '70000',
      TOUCHLINE_SCHEDULER_PORT: '-1',
      TOUCHLINE_MONITORING_URL: 'ftp://monitoring.internal',
      TOUCHLINE_MAX_BODY_BYTES: '1.5',
      TOUCHLINE_MAX_QUERY_DEPTH: '0',
      TOUCHLINE_MAX_QUERY_COMPLEXITY: 'lots',
      TOUCHLINE_COMPOSE_POLL_SECONDS: '-5',
      LOG_LEVEL: 'loud',
      TOUCHLINE_LOG_FORMAT: 'xml',
      TOUCHLINE_HOST: '127.0.0.1',
    });
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toEqual([
      'PORT: must be a port number from 0 to 65535 (got "eighty")',
      'TOUCHLINE_REGISTRY_PORT: must be a port number from 0 to 65535 (got "70000")',
      'TOUCHLINE_SCHEDULER_PORT: must be a port number from 0 to 65535 (got "-1")',
      'TOUCHLINE_MONITORING_URL: must be an http:// or https:// URL (got "ftp://monitoring.internal")',
      'TOUCHLINE_MAX_BODY_BYTES: must be a whole number above 0 (got "1.5")',
      'TOUCHLINE_MAX_QUERY_DEPTH: must be a whole number above 0 (got "0")',
      'TOUCHLINE_MAX_QUERY_COMPLEXITY: must be a whole number above 0 (got "lots")',
      'TOUCHLINE_COMPOSE_POLL_SECONDS: must be a whole number of seconds (0 turns polling off) (got "-5")',
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
      'TOUCHLINE_LOG_FORMAT: must be json or pretty (got "xml")',
    ]);
    for (const problem of error.problems) expect(error.message).toContain(problem);
  });

  it('names a bad secret without ever showing its value', () => {
    const secrets = {
      DATABASE_URL: 'mysql://touchline:hunter2-db-password@db.internal/touchline',
      TOUCHLINE_INTERNAL_SECRET: 'too-short-but-secret',
      TOUCHLINE_ADMIN_KEY: 'admin key with spaces in it',
      TOUCHLINE_METRICS_TOKEN: 'metrics token with spaces',
    };
    const error = configErrorFor(secrets);
    expect(error.problems).toEqual([
      'DATABASE_URL: must be a postgres:// or postgresql:// URL',
      'TOUCHLINE_INTERNAL_SECRET: must be at least 32 characters',
      'TOUCHLINE_ADMIN_KEY: must be printable ASCII without spaces',
      'TOUCHLINE_METRICS_TOKEN: must be printable ASCII without spaces',
    ]);
    for (const value of Object.values(secrets)) expect(error.message).not.toContain(value);
    expect(error.message).not.toContain('hunter2');

    const shortKey = configErrorFor({ TOUCHLINE_ADMIN_KEY: 'tl_short' });
    expect(shortKey.problems).toEqual(['TOUCHLINE_ADMIN_KEY: must be at least 20 characters']);
    expect(shortKey.message).not.toContain('tl_short');
  });

  it.each(['postgres://u:p@localhost/touchline', 'postgresql://localhost:5432/touchline'])('accepts DATABASE_URL %s', (url) => {
    expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
  });

  it.each(['mysql://localhost/touchline', 'http://localhost/touchline', 'localhost:5432/touchline', 'postgres'])(
    'refuses DATABASE_URL %s',
    (url) => {
      expect(configErrorFor({ DATABASE_URL: url }).problems).toEqual(['DATABASE_URL: must be a postgres:// or postgresql:// URL']);
    },
  );

  it('logs pretty only to a terminal unless told which format', () => {
    expect(loadConfig({}, { isTTY: true }).logFormat).toBe('pretty');
    expect(loadConfig({}, { isTTY: false }).logFormat).toBe('json');
    expect(loadConfig({}).logFormat).toBe('json');
    expect(loadConfig({ TOUCHLINE_LOG_FORMAT: 'json' }, { isTTY: true }).logFormat).toBe('json');
    expect(loadConfig({ TOUCHLINE_LOG_FORMAT: 'pretty' }, { isTTY: false }).logFormat).toBe('pretty');
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { gatewayPort: number }).gatewayPort = 1;
    }).toThrow(TypeError);
    expect(config.gatewayPort).toBe(4000);
  });
});

describe('requireInternalSecret', () => {
  it('returns the secret when there is one', () => {
    const secret = 'a-secret-of-at-least-32-characters!';
    expect(requireInternalSecret(loadConfig({ TOUCHLINE_INTERNAL_SECRET: secret }))).toBe(secret);
  });

  it('stops start-up with a ConfigError naming TOUCHLINE_INTERNAL_SECRET when it is missing', () => {
    const config = loadConfig({});
    expect(() => requireInternalSecret(config)).toThrow(ConfigError);
    expect(() => requireInternalSecret(config)).toThrow(/TOUCHLINE_INTERNAL_SECRET: required/);
  });
});

describe('numbers in the environment', () => {
  it.each(['0x10', '1e3', ' ', '4000.5', '-1'])('refuses PORT=%j rather than guess', (value) => {
    expect(() => loadConfig({ PORT: value })).toThrow(/PORT: must be a port number from 0 to 65535/);
  });

  it('freezes nested settings too', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config.subgraphPorts)).toBe(true);
    expect(Object.isFrozen(config.subgraphUrls)).toBe(true);
  });
});
