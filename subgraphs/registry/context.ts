// What the registry's resolvers receive with each request.
import type { SubscriptionSettings } from '../../common/config';
import type { StreamTail } from '../../common/events/stream-tail';
import type { ServiceContext } from '../../common/graphql/context';
import type { ModelEvent } from './history/model-event.entity';
import type { ModelUpdate } from './history/model-event.subscriptions';
import { createLoaders, type RegistryLoaders } from './loaders';

export interface RegistryContext extends ServiceContext {
  loaders: RegistryLoaders;
  /** The models stream, for subscriptions. */
  modelUpdates: StreamTail<ModelEvent, ModelUpdate>;
  subscriptionSettings: SubscriptionSettings;
}

export function createRegistryContext(base: ServiceContext, shared: Pick<RegistryContext, 'modelUpdates' | 'subscriptionSettings'>): RegistryContext {
  const context: RegistryContext = {
    ...base,
    loaders: createLoaders(base.db.manager),
    modelUpdates: shared.modelUpdates,
    subscriptionSettings: shared.subscriptionSettings,
    clearCaches: () => {
      for (const loader of Object.values(context.loaders)) loader.clearAll();
    },
    afterCommit: () => context.clearCaches?.(),
  };
  return context;
}
