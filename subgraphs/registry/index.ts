// The registry subgraph: models, semantic versions, aliases, stages, lineage and deployment history, and the models
// stream that subscriptions follow.
import { AuditEntry } from '../../common/audit/audit-entry.entity';
import { StreamHead } from '../../common/events/stream';
import type { SubgraphDefinition } from '../../common/subgraph-server';
import { buildFederatedSchema } from '../../common/graphql/subgraph-schema';
import { ModelAlias } from './alias/model-alias.entity';
import { ModelAliasResolver } from './alias/model-alias.resolver';
import { createRegistryContext, type RegistryContext } from './context';
import { DeploymentEvent } from './deployment/deployment-event.entity';
import { DeploymentEventResolver } from './deployment/deployment-event.resolver';
import { ModelEvent } from './history/model-event.entity';
import { ModelEventResolver } from './history/model-event.resolver';
import { ModelEventSubscriptionResolver, modelUpdatesTail } from './history/model-event.subscriptions';
import { postgresMigrations, sqliteMigrations } from './migrations';
import { Model, ModelTag } from './model/model.entity';
import { ModelResolver } from './model/model.resolver';
import { ModelVersion } from './version/model-version.entity';
import { ModelVersionResolver } from './version/model-version.resolver';

export const registry: SubgraphDefinition<RegistryContext> = {
  name: 'registry',
  entities: [Model, ModelTag, ModelVersion, ModelAlias, ModelEvent, DeploymentEvent, StreamHead, AuditEntry],
  migrations: { sqlite: sqliteMigrations, postgres: postgresMigrations },
  buildSchema: () =>
    buildFederatedSchema<RegistryContext>({
      resolvers: [
        ModelResolver,
        ModelVersionResolver,
        ModelAliasResolver,
        ModelEventResolver,
        ModelEventSubscriptionResolver,
        DeploymentEventResolver,
      ],
      references: {
        Model: (reference, ctx) => ctx.loaders.model.load(reference.id),
        ModelVersion: (reference, ctx) => ctx.loaders.version.load(reference.id),
      },
    }),
  async start({ db, logger, config }) {
    const modelUpdates = modelUpdatesTail(db, logger, config.subscriptions.replayWindow);
    const shared = { modelUpdates, subscriptionSettings: config.subscriptions };
    return {
      createContext: (base) => createRegistryContext(base, shared),
      stop: async () => modelUpdates.stop(),
    };
  },
};
