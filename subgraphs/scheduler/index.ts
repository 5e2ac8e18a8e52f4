// The scheduler subgraph: nodes, jobs and placement. This release runs the service (its database, audit log,
// health and signed-request checks); its API arrives with the scheduler release.
import { AuditEntry } from '../../common/audit/audit-entry.entity';
import { buildFederatedSchema } from '../../common/graphql/subgraph-schema';
import type { ServiceContext } from '../../common/graphql/context';
import type { SubgraphDefinition } from '../../common/subgraph-server';
import { postgresMigrations, sqliteMigrations } from './migrations';

export const scheduler: SubgraphDefinition<ServiceContext> = {
  name: 'scheduler',
  entities: [AuditEntry],
  migrations: { sqlite: sqliteMigrations, postgres: postgresMigrations },
  buildSchema: () => buildFederatedSchema({ resolvers: [] }),
  start: async () => ({ createContext: (base) => base }),
};
