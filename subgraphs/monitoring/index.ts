// The monitoring subgraph: metrics, alert rules, alerts and notifications. This release runs the service (its database, audit log,
// health and signed-request checks); its API arrives with the monitoring release.
import { AuditEntry } from '../../common/audit/audit-entry.entity';
import { buildFederatedSchema } from '../../common/graphql/subgraph-schema';
import type { ServiceContext } from '../../common/graphql/context';
import type { SubgraphDefinition } from '../../common/subgraph-server';
import { postgresMigrations, sqliteMigrations } from './migrations';

export const monitoring: SubgraphDefinition<ServiceContext> = {
  name: 'monitoring',
  entities: [AuditEntry],
  migrations: { sqlite: sqliteMigrations, postgres: postgresMigrations },
  buildSchema: () => buildFederatedSchema({ resolvers: [] }),
  start: async () => ({ createContext: (base) => base }),
};
