// One service's database: SQLite (embedded mode) or its own PostgreSQL schema, migrated at start-up.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { DataSource, type EntityManager, type EntitySchema, type Logger as OrmLogger, type MixedList } from 'typeorm';
import type { Config } from '../config';
import { MemoryBus, type StreamBus } from '../events/bus';
import type { Logger } from '../logger';
import { SnakeNamingStrategy } from './naming';

export type DatabaseLocation =
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; url: string; schema: string };

/** Each service owns one database: a SQLite file in the data folder, or a schema of its own in PostgreSQL. */
export function databaseLocation(config: Pick<Config, 'databaseUrl' | 'dataDir'>, service: string): DatabaseLocation {
  return config.databaseUrl
    ? { kind: 'postgres', url: config.databaseUrl, schema: service }
    : { kind: 'sqlite', file: path.join(config.dataDir, `${service}.sqlite`) };
}

export interface DatabaseOptions {
  location: DatabaseLocation;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: Record<DatabaseLocation['kind'], Function[]>;
  logger: Logger;
  /** Called with every SQL statement (tests count queries with it). */
  onQuery?: (sql: string) => void;
  /** How long to keep retrying a database that is not reachable yet (PostgreSQL starting beside us). */
  connectTimeoutMs?: number;
}

// PostgreSQL `timestamp` columns hold UTC: write and read them as UTC whatever the process's time zone.
pg.defaults.parseInputDatesAsUTC = true;
pg.types.setTypeParser(pg.types.builtins.TIMESTAMP, (value) => new Date(`${value.replace(' ', 'T')}Z`));
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** What runs at the end of one transaction: just before it commits (last writes), and once it has committed. */
interface TransactionHooks {
  /** By key, so that many calls in one transaction register one hook (which then writes for all of them). */
  beforeCommit: Map<string, () => Promise<void>>;
  afterCommit: (() => void)[];
}

const transactionHooks = new WeakMap<EntityManager, TransactionHooks>();
const databases = new WeakMap<DataSource, Database>();

/**
 * Runs `hook` as the last work of the transaction `em` belongs to (once per `key`, however many times it is asked),
 * and `after` once it has committed. Throws when `em` is not inside Database.transaction.
 */
export function atCommit(em: EntityManager, key: string, hook: () => Promise<void>, after?: () => void): void {
  const hooks = transactionHooks.get(em);
  if (!hooks) throw new Error(`${key}: this write must run inside Database.transaction`);
  if (hooks.beforeCommit.has(key)) return;
  hooks.beforeCommit.set(key, hook);
  if (after) hooks.afterCommit.push(after);
}

export class Database {
  /** Announces the streams' new heads after each commit that appends to them (common/events). */
  bus: StreamBus = new MemoryBus();
  private writeQueue: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    readonly dataSource: DataSource,
    readonly location: DatabaseLocation,
  ) {
    databases.set(dataSource, this);
  }

  /** The Database an entity manager (plain or a transaction's) belongs to. */
  static of(em: EntityManager): Database {
    const database = databases.get(em.connection);
    if (!database) throw new Error('this entity manager belongs to no open Database');
    return database;
  }

  get kind(): DatabaseLocation['kind'] {
    return this.location.kind;
  }

  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  static async open(options: DatabaseOptions): Promise<Database> {
    const { location, logger } = options;
    const dataSource = new DataSource({
      ...(location.kind === 'sqlite'
        ? { type: 'better-sqlite3' as const, database: prepareSqliteFile(location.file), enableWAL: true, timeout: 10_000 }
        : { type: 'postgres' as const, url: location.url, schema: location.schema, extra: { max: 10 } }),
      entities: options.entities,
      migrations: options.migrations[location.kind],
      migrationsTableName: 'migrations',
      namingStrategy: new SnakeNamingStrategy(),
      synchronize: false,
      logging: options.onQuery ? ['query', 'error'] : ['error'],
      logger: new OrmLoggerAdapter(logger, options.onQuery),
    });
    await initializeWithRetry(dataSource, location, logger, options.connectTimeoutMs ?? 60_000);
    const database = new Database(dataSource, location);
    await database.migrate(logger);
    return database;
  }

  /**
   * Runs `work` in one transaction. SQLite has a single connection, so its transactions are queued one after
   * another here; PostgreSQL runs them concurrently, each on its own connection.
   */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const withHooks = async (em: EntityManager) => {
      const hooks: TransactionHooks = { beforeCommit: new Map(), afterCommit: [] };
      transactionHooks.set(em, hooks);
      const result = await work(em);
      for (const hook of hooks.beforeCommit.values()) await hook();
      return { result, hooks };
    };
    let run: Promise<{ result: T; hooks: TransactionHooks }>;
    if (this.kind === 'postgres') run = this.dataSource.transaction(withHooks);
    else {
      run = this.writeQueue.then(() => this.dataSource.transaction(withHooks));
      this.writeQueue = run.catch(() => undefined);
    }
    const settled = run.catch(() => undefined);
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return run.then(({ result, hooks }) => {
      for (const hook of hooks.afterCommit) hook();
      return result;
    });
  }

  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }

  /** Waits for transactions under way (including background writes), then closes the connections. */
  async close(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  private async migrate(logger: Logger): Promise<void> {
    const runner = this.dataSource.createQueryRunner();
    try {
      if (this.location.kind === 'postgres') {
        const schema = this.location.schema;
        // Instances starting together take turns: one migrates, the others then find nothing left to do.
        await runner.query('SELECT pg_advisory_lock(hashtext($1))', [`touchline:migrate:${schema}`]);
        await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      }
      const applied = await this.dataSource.runMigrations({ transaction: 'each' });
      for (const migration of applied) logger.info({ migration: migration.name }, 'applied database migration');
    } finally {
      if (this.location.kind === 'postgres') {
        await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`touchline:migrate:${this.location.schema}`]);
      }
      await runner.release();
    }
  }
}

function prepareSqliteFile(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return file;
}

async function initializeWithRetry(
  dataSource: DataSource,
  location: DatabaseLocation,
  logger: Logger,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await dataSource.initialize();
      return;
    } catch (error) {
      const retryable = location.kind === 'postgres' && isConnectionRefused(error);
      if (!retryable || Date.now() > deadline) {
        throw new Error(`Cannot open the ${describe(location)}: ${(error as Error).message}`, { cause: error });
      }
      logger.warn({ attempt, database: describe(location) }, 'database not reachable yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** attempt, 5_000)));
    }
  }
}

function isConnectionRefused(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '57P03' || code === 'ECONNRESET';
}

function describe(location: DatabaseLocation): string {
  if (location.kind === 'sqlite') return `SQLite database ${location.file}`;
  const url = new URL(location.url);
  return `PostgreSQL database ${url.host}${url.pathname} (schema ${location.schema})`;
}

class OrmLoggerAdapter implements OrmLogger {
  constructor(
    private readonly logger: Logger,
    private readonly onQuery?: (sql: string) => void,
  ) {}

  logQuery(query: string): void {
    this.onQuery?.(query);
  }

  logQueryError(error: string | Error, query: string): void {
    this.logger.debug({ err: error, query }, 'query failed');
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn({ time, query }, 'slow query');
  }

  logSchemaBuild(message: string): void {
    this.logger.debug(message);
  }

  logMigration(message: string): void {
    this.logger.debug(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn({ message }, 'database warning');
    else this.logger.debug({ message }, 'database');
  }
}

/**
 * `lock` option for a find inside a transaction: a row lock (SELECT ... FOR UPDATE) on PostgreSQL; nothing on
 * SQLite, whose transactions already run one at a time.
 */
export function forUpdate(em: EntityManager): { mode: 'pessimistic_write' } | undefined {
  return em.connection.options.type === 'postgres' ? { mode: 'pessimistic_write' } : undefined;
}

/** The SQL that would bring the database's schema in line with its entities: nothing, when migrations are complete. */
export async function pendingSchemaChanges(db: Database): Promise<{ up: Query[]; down: Query[] }> {
  const sql = await db.dataSource.driver.createSchemaBuilder().log();
  return { up: sql.upQueries, down: sql.downQueries.reverse() };
}

interface Query {
  query: string;
  parameters?: unknown[];
}
