// The gateway's own subgraph, served in-process: API keys, the caller's identity, and the platform audit log.
import { AuditEntry } from '../../common/audit/audit-entry.entity';
import { buildFederatedSchema } from '../../common/graphql/subgraph-schema';
import { ApiKey } from './api-key.entity';
import { AccessResolver, type AccessContext } from './access.resolver';
import { postgresMigrations, sqliteMigrations } from './migrations';

export const ACCESS_SUBGRAPH = 'access';

/** Tables of the gateway's database. */
export const accessEntities = [ApiKey, AuditEntry];
export const accessMigrations = { sqlite: sqliteMigrations, postgres: postgresMigrations };

export function buildAccessSchema() {
  return buildFederatedSchema<AccessContext>({ resolvers: [AccessResolver] });
}
