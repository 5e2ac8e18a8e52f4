// What the registry's resolvers receive with each request.
import type { ServiceContext } from '../../common/graphql/context';
import { createLoaders, type RegistryLoaders } from './loaders';

export interface RegistryContext extends ServiceContext {
  loaders: RegistryLoaders;
}

export function createRegistryContext(base: ServiceContext): RegistryContext {
  const context: RegistryContext = {
    ...base,
    loaders: createLoaders(base.db.manager),
    afterCommit: () => {
      for (const loader of Object.values(context.loaders)) loader.clearAll();
    },
  };
  return context;
}
