// The registry's schema migrations, one list per database, oldest first. Written by `npm run migration:generate`.
import { InitialSqlite1796417280861 } from './sqlite/1796417280861-initial';
import { ModelStreamSqlite1796429606608 } from './sqlite/1796429606608-model-stream';
import { InitialPostgres1796417280861 } from './postgres/1796417280861-initial';
import { ModelStreamPostgres1796429606608 } from './postgres/1796429606608-model-stream';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const sqliteMigrations: Function[] = [
  InitialSqlite1796417280861,
  ModelStreamSqlite1796429606608,
];
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const postgresMigrations: Function[] = [
  InitialPostgres1796417280861,
  ModelStreamPostgres1796429606608,
];
