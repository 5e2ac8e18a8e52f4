// GraphQL fields of history events: the model and versions they name, and their number in the models stream.
import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { RegistryContext } from '../context';
import { Model } from '../model/model.entity';
import { ModelVersion } from '../version/model-version.entity';
import { ModelEvent, ModelEventKind } from './model-event.entity';

@Resolver(() => ModelEvent)
export class ModelEventResolver {
  @FieldResolver(() => String, {
    description:
      "The event's number in the models stream. In a modelAliasMoved or modelStageChanged event, pass the last one " +
      'received as `after` to resume without missing a change.',
  })
  sequence(@Root() event: ModelEvent): string {
    return String(event.sequence);
  }

  @FieldResolver(() => Model, { nullable: true, description: 'The model it happened to.' })
  model(@Root() event: ModelEvent, @Ctx() ctx: RegistryContext): Promise<Model | undefined> {
    return ctx.loaders.model.load(event.modelId);
  }

  @FieldResolver(() => ModelVersion, { nullable: true, description: 'The version registered (VERSION_REGISTERED) or whose stage changed (STAGE_CHANGED).' })
  async modelVersion(@Root() event: ModelEvent, @Ctx() ctx: RegistryContext): Promise<ModelVersion | undefined> {
    const ofVersion = event.kind === ModelEventKind.STAGE_CHANGED || event.kind === ModelEventKind.VERSION_REGISTERED;
    return ofVersion && event.versionId ? ctx.loaders.version.load(event.versionId) : undefined;
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
