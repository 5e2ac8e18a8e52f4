// Every service's migrations build exactly the schema its entities describe, on SQLite and on PostgreSQL:
// a change to an entity without a migration fails here (write one with `npm run migration:generate`).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../../cli/platform';
import { Database, pendingSchemaChanges, type DatabaseLocation } from '../../common/db/database';
import { silentLogger } from '../../common/logger';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

describe('migrations', () => {
  let dir: string;
  let postgres: TestDatabase;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-migrations-'));
    postgres = await createTestDatabase();
  });
  afterAll(async () => {
    await postgres?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cases = Object.keys(DATABASES).flatMap((service) => [[service, 'sqlite'], [service, 'postgres']] as const);

  it.each(cases)('%s on %s: migrations match the entities, and running them twice changes nothing', async (service, kind) => {
    const location: DatabaseLocation =
      kind === 'sqlite' ? { kind, file: path.join(dir, `${service}.sqlite`) } : { kind, url: postgres.url, schema: service };
    const open = () => Database.open({ location, ...DATABASES[service as keyof typeof DATABASES], logger: silentLogger });
    const first = await open();
    try {
      expect((await pendingSchemaChanges(first)).up.map((query) => query.query)).toEqual([]);
    } finally {
      await first.close();
    }
    const again = await open();
    try {
      expect(await again.dataSource.showMigrations()).toBe(false);
    } finally {
      await again.close();
    }
  });
});
