// The monitoring's schema migrations, one list per database, oldest first. Written by `npm run migration:generate`.
import { InitialSqlite1796417280861 } from './sqlite/1796417280861-initial';
import { MetricsSqlite1796433415709 } from './sqlite/1796433415709-metrics';
import { AlertRulesSqlite1796434375662 } from './sqlite/1796434375662-alert-rules';
import { NotificationsSqlite1796436931383 } from './sqlite/1796436931383-notifications';
import { NodeMetricsStreamSqlite1796437313159 } from './sqlite/1796437313159-node-metrics-stream';
import { InitialPostgres1796417280861 } from './postgres/1796417280861-initial';
import { MetricsPostgres1796433415709 } from './postgres/1796433415709-metrics';
import { AlertRulesPostgres1796434375662 } from './postgres/1796434375662-alert-rules';
import { NotificationsPostgres1796436931383 } from './postgres/1796436931383-notifications';
import { NodeMetricsStreamPostgres1796437313159 } from './postgres/1796437313159-node-metrics-stream';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const sqliteMigrations: Function[] = [
  InitialSqlite1796417280861,
  MetricsSqlite1796433415709,
  AlertRulesSqlite1796434375662,
  NotificationsSqlite1796436931383,
  NodeMetricsStreamSqlite1796437313159,
];
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const postgresMigrations: Function[] = [
  InitialPostgres1796417280861,
  MetricsPostgres1796433415709,
  AlertRulesPostgres1796434375662,
  NotificationsPostgres1796436931383,
  NodeMetricsStreamPostgres1796437313159,
];
