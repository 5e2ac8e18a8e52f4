// GraphQL fields of history events: the versions they name.
import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { RegistryContext } from '../context';
import { ModelVersion } from '../version/model-version.entity';
import { ModelEvent, ModelEventKind } from './model-event.entity';

@Resolver(() => ModelEvent)
export class ModelEventResolver {
  @FieldResolver(() => ModelVersion, { nullable: true, description: 'The version whose stage changed (STAGE_CHANGED).' })
  async modelVersion(@Root() event: ModelEvent, @Ctx() ctx: RegistryContext): Promise<ModelVersion | undefined> {
    return event.kind === ModelEventKind.STAGE_CHANGED && event.versionId ? ctx.loaders.version.load(event.versionId) : undefined;
  }

  @FieldResolver(() => ModelVersion, { nullable: true, description: 'Where the alias pointed before (ALIAS_MOVED).' })
  fromVersion(@Root() event: ModelEvent, @Ctx() ctx: RegistryContext): Promise<ModelVersion | undefined> | undefined {
    return event.fromVersionId ? ctx.loaders.version.load(event.fromVersionId) : undefined;
  }

  @FieldResolver(() => ModelVersion, { nullable: true, description: 'Where the alias points now; null when it was removed.' })
  toVersion(@Root() event: ModelEvent, @Ctx() ctx: RegistryContext): Promise<ModelVersion | undefined> | undefined {
    return event.toVersionId ? ctx.loaders.version.load(event.toVersionId) : undefined;
  }
}
