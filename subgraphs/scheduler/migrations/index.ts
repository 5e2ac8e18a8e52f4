// The scheduler's schema migrations, one list per database, oldest first. Written by `npm run migration:generate`.
import { InitialSqlite1796417280861 } from './sqlite/1796417280861-initial';
import { JobsSqlite1796421133572 } from './sqlite/1796421133572-jobs';
import { JobStreamSqlite1796428781118 } from './sqlite/1796428781118-job-stream';
import { NodeStreamSqlite1796429716919 } from './sqlite/1796429716919-node-stream';
import { InitialPostgres1796417280861 } from './postgres/1796417280861-initial';
import { JobsPostgres1796421133572 } from './postgres/1796421133572-jobs';
import { JobStreamPostgres1796428781118 } from './postgres/1796428781118-job-stream';
import { NodeStreamPostgres1796429716919 } from './postgres/1796429716919-node-stream';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const sqliteMigrations: Function[] = [
  InitialSqlite1796417280861,
  JobsSqlite1796421133572,
  JobStreamSqlite1796428781118,
  NodeStreamSqlite1796429716919,
];
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const postgresMigrations: Function[] = [
  InitialPostgres1796417280861,
  JobsPostgres1796421133572,
  JobStreamPostgres1796428781118,
  NodeStreamPostgres1796429716919,
];
