// Starts Touchline in the test's process, on ports the OS picks, with its own data: SQLite files in a
// temporary folder, or a PostgreSQL database of its own. Everything is removed by `destroy`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type SubgraphName } from '../../common/config';
import { createLogger } from '../../common/logger';
import { runPlatform, type Platform } from '../../cli/platform';
import { createTestDatabase, type TestDatabase } from './postgres';
import { graphql, type GraphQLResponse } from './graphql';

export type DatabaseKind = 'sqlite' | 'postgres';

export const ADMIN_KEY = 'tl_test-admin-key-0123456789abcdef';
export const INTERNAL_SECRET = 'test-internal-secret-0123456789abcdef0123';

export interface TestPlatform {
  kind: DatabaseKind;
  /** The gateway's GraphQL endpoint. */
  url: string;
  platform: Platform;
  /** Runs an operation through the gateway, as the admin unless another key is given. */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, key?: string | null): Promise<GraphQLResponse<T>>;
  subgraphUrl(name: SubgraphName): string;
  restart(): Promise<void>;
  destroy(): Promise<void>;
}

export interface TestPlatformOptions {
  onQuery?: (subgraph: SubgraphName, sql: string) => void;
  env?: Record<string, string>;
}

export async function startTestPlatform(kind: DatabaseKind, options: TestPlatformOptions = {}): Promise<TestPlatform> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-test-'));
  const database: TestDatabase | undefined = kind === 'postgres' ? await createTestDatabase() : undefined;
  const config = loadConfig({
    PORT: '0',
    TOUCHLINE_REGISTRY_PORT: '0',
    TOUCHLINE_SCHEDULER_PORT: '0',
    TOUCHLINE_MONITORING_PORT: '0',
    TOUCHLINE_DATA_DIR: dataDir,
    DATABASE_URL: database?.url,
    TOUCHLINE_ADMIN_KEY: ADMIN_KEY,
    TOUCHLINE_INTERNAL_SECRET: INTERNAL_SECRET,
    TOUCHLINE_COMPOSE_POLL_SECONDS: '0',
    ...options.env,
  });
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', format: 'json' });
  const start = () => runPlatform(config, logger, { onQuery: options.onQuery });

  let platform: Platform;
  try {
    platform = await start();
  } catch (error) {
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  const test: TestPlatform = {
    kind,
    get url() {
      return platform.gateway.url;
    },
    get platform() {
      return platform;
    },
    gql: (query, variables = {}, key = ADMIN_KEY) => graphql(platform.gateway.url, query, variables, { key: key ?? undefined }),
    subgraphUrl: (name) => platform.subgraphs.find((subgraph) => subgraph.name === name)!.url,
    async restart() {
      await platform.stop();
      platform = await start();
    },
    async destroy() {
      await platform.stop();
      await database?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return test;
}
