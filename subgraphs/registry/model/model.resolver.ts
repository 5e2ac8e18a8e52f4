// GraphQL for models: queries, mutations and the fields that reach into versions, aliases and history.
import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { PageArgs, toConnection } from '../../../common/graphql/connection';
import { toPayload } from '../../../common/graphql/types';
import { ModelAlias } from '../alias/model-alias.entity';
import type { RegistryContext } from '../context';
import { DeploymentEventConnection } from '../deployment/deployment-event.payloads';
import { listDeploymentEvents } from '../deployment/deployment-event.service';
import { ModelEventConnection } from '../history/model-event.payloads';
import { listModelEvents } from '../history/model-event.service';
import { ModelStage, ModelVersion } from '../version/model-version.entity';
import { ModelVersionConnection } from '../version/model-version.payloads';
import { listVersionsOfModel } from '../version/model-version.service';
import { Model } from './model.entity';
import { CreateModelInput, ModelFilter, UpdateModelInput } from './model.inputs';
import { CreateModelPayload, ModelConnection, UpdateModelPayload } from './model.payloads';
import { createModel, listModels, updateModel } from './model.service';

@Resolver(() => Model)
export class ModelResolver {
  @Query(() => Model, { nullable: true, description: 'A model by its name.' })
  model(@Arg('name', () => String) name: string, @Ctx() ctx: RegistryContext): Promise<Model | undefined> {
    return ctx.loaders.modelByName.load(name);
  }

  @Query(() => ModelConnection, { description: 'Models in name order.' })
  async models(
    @Arg('filter', () => ModelFilter, { nullable: true }) filter: ModelFilter | null,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: RegistryContext,
  ): Promise<ModelConnection> {
    return toConnection(ModelConnection, await listModels(ctx.em, filter, page));
  }

  @Mutation(() => CreateModelPayload)
  async createModel(@Arg('input', () => CreateModelInput) input: CreateModelInput, @Ctx() ctx: RegistryContext): Promise<CreateModelPayload> {
    return toPayload(CreateModelPayload, await createModel(ctx.em, input, ctx.identity));
  }

  @Mutation(() => UpdateModelPayload)
  async updateModel(@Arg('input', () => UpdateModelInput) input: UpdateModelInput, @Ctx() ctx: RegistryContext): Promise<UpdateModelPayload> {
    return toPayload(UpdateModelPayload, await updateModel(ctx.em, input));
  }

  @FieldResolver(() => [String])
  tags(@Root() model: Model, @Ctx() ctx: RegistryContext): Promise<string[]> {
    return ctx.loaders.tags.load(model.id);
  }

  @FieldResolver(() => ModelVersionConnection, { description: 'Versions in semver order, highest first.' })
  async versions(
    @Root() model: Model,
    @Arg('stage', () => ModelStage, { nullable: true }) stage: ModelStage | null,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: RegistryContext,
  ): Promise<ModelVersionConnection> {
    return toConnection(ModelVersionConnection, await listVersionsOfModel(ctx.em, model.id, stage, page));
  }

  @FieldResolver(() => ModelVersion, {
    nullable: true,
    description: 'The highest version by semver precedence (releases before prereleases); also the alias `latest`.',
  })
  latestVersion(@Root() model: Model, @Ctx() ctx: RegistryContext): Promise<ModelVersion | undefined> {
    return ctx.loaders.latestVersion.load(model.id);
  }

  @FieldResolver(() => ModelVersion, { nullable: true, description: 'The version in the PRODUCTION stage, if any.' })
  productionVersion(@Root() model: Model, @Ctx() ctx: RegistryContext): Promise<ModelVersion | undefined> {
    return ctx.loaders.productionVersion.load(model.id);
  }

  @FieldResolver(() => [ModelAlias])
  aliases(@Root() model: Model, @Ctx() ctx: RegistryContext): Promise<ModelAlias[]> {
    return ctx.loaders.aliasesOfModel.load(model.id);
  }

  @FieldResolver(() => ModelEventConnection, { description: 'Versions registered, stage changes and alias moves, newest first.' })
  async history(@Root() model: Model, @Args(() => PageArgs) page: PageArgs, @Ctx() ctx: RegistryContext): Promise<ModelEventConnection> {
    return toConnection(ModelEventConnection, await listModelEvents(ctx.em, { modelId: model.id }, page));
  }

  @FieldResolver(() => DeploymentEventConnection, { description: 'Deployments of any of its versions, newest first.' })
  async deployments(
    @Root() model: Model,
    @Arg('environment', () => String, { nullable: true }) environment: string | null,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: RegistryContext,
  ): Promise<DeploymentEventConnection> {
    return toConnection(DeploymentEventConnection, await listDeploymentEvents(ctx.em, { modelId: model.id }, environment, page));
  }
}
