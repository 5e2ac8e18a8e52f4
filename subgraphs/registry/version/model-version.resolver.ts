// GraphQL for model versions: lookup by version or alias, lists, registration and stage transitions.
import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { PageArgs, toConnection } from '../../../common/graphql/connection';
import { BadInputError } from '../../../common/graphql/errors';
import { toPayload } from '../../../common/graphql/types';
import { LATEST_ALIAS } from '../alias/model-alias.inputs';
import type { RegistryContext } from '../context';
import { DeploymentEventConnection } from '../deployment/deployment-event.payloads';
import { listDeploymentEvents } from '../deployment/deployment-event.service';
import { ModelEventConnection } from '../history/model-event.payloads';
import { listModelEvents } from '../history/model-event.service';
import { Model } from '../model/model.entity';
import { ModelVersion } from './model-version.entity';
import {
  ModelVersionFilter,
  RegisterModelVersionInput,
  TransitionModelVersionStageInput,
  UpdateModelVersionInput,
} from './model-version.inputs';
import {
  ModelVersionConnection,
  RegisterModelVersionPayload,
  TransitionModelVersionStagePayload,
  UpdateModelVersionPayload,
} from './model-version.payloads';
import { listVersions, registerModelVersion, transitionStage, updateModelVersion } from './model-version.service';

@Resolver(() => ModelVersion)
export class ModelVersionResolver {
  @Query(() => ModelVersion, {
    nullable: true,
    description: 'A version of a model, by its version or by an alias (`latest` is the highest version). Give exactly one.',
  })
  async modelVersion(
    @Arg('model', () => String) modelName: string,
    @Arg('version', () => String, { nullable: true }) version: string | null,
    @Arg('alias', () => String, { nullable: true }) alias: string | null,
    @Ctx() ctx: RegistryContext,
  ): Promise<ModelVersion | undefined | null> {
    if ((version == null) === (alias == null)) throw new BadInputError('modelVersion', 'give exactly one of `version` and `alias`');
    const model = await ctx.loaders.modelByName.load(modelName);
    if (!model) return null;
    if (version != null) return ctx.em.findOneBy(ModelVersion, { modelId: model.id, version });
    if (alias === LATEST_ALIAS) return ctx.loaders.latestVersion.load(model.id);
    const pointer = (await ctx.loaders.aliasesOfModel.load(model.id)).find((candidate) => candidate.name === alias);
    return pointer && ctx.loaders.version.load(pointer.versionId);
  }

  @Query(() => ModelVersionConnection, { description: 'Versions of all models, newest registration first.' })
  async modelVersions(
    @Arg('filter', () => ModelVersionFilter, { nullable: true }) filter: ModelVersionFilter | null,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: RegistryContext,
  ): Promise<ModelVersionConnection> {
    return toConnection(ModelVersionConnection, await listVersions(ctx.em, filter, page));
  }

  @Mutation(() => RegisterModelVersionPayload)
  async registerModelVersion(
    @Arg('input', () => RegisterModelVersionInput) input: RegisterModelVersionInput,
    @Ctx() ctx: RegistryContext,
  ): Promise<RegisterModelVersionPayload> {
    return toPayload(RegisterModelVersionPayload, await registerModelVersion(ctx.em, input, ctx.identity));
  }

  @Mutation(() => UpdateModelVersionPayload)
  async updateModelVersion(
    @Arg('input', () => UpdateModelVersionInput) input: UpdateModelVersionInput,
    @Ctx() ctx: RegistryContext,
  ): Promise<UpdateModelVersionPayload> {
    return toPayload(UpdateModelVersionPayload, await updateModelVersion(ctx.em, input));
  }

  @Mutation(() => TransitionModelVersionStagePayload)
  async transitionModelVersionStage(
    @Arg('input', () => TransitionModelVersionStageInput) input: TransitionModelVersionStageInput,
    @Ctx() ctx: RegistryContext,
  ): Promise<TransitionModelVersionStagePayload> {
    return toPayload(TransitionModelVersionStagePayload, await transitionStage(ctx.em, input, ctx.identity));
  }

  @FieldResolver(() => Model)
  async model(@Root() version: ModelVersion, @Ctx() ctx: RegistryContext): Promise<Model> {
    const model = await ctx.loaders.model.load(version.modelId);
    if (!model) throw new Error(`Model ${version.modelId} of version ${version.id} is missing`);
    return model;
  }

  @FieldResolver(() => [String], { description: 'The aliases pointing at this version.' })
  aliases(@Root() version: ModelVersion, @Ctx() ctx: RegistryContext): Promise<string[]> {
    return ctx.loaders.aliasesOfVersion.load(version.id);
  }

  @FieldResolver(() => ModelEventConnection, { description: 'Its registration, its stage changes and the alias moves to and from it, newest first.' })
  async history(@Root() version: ModelVersion, @Args(() => PageArgs) page: PageArgs, @Ctx() ctx: RegistryContext): Promise<ModelEventConnection> {
    return toConnection(ModelEventConnection, await listModelEvents(ctx.em, { versionId: version.id }, page));
  }

  @FieldResolver(() => DeploymentEventConnection, { description: 'Its deployments, newest first.' })
  async deployments(
    @Root() version: ModelVersion,
    @Arg('environment', () => String, { nullable: true }) environment: string | null,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: RegistryContext,
  ): Promise<DeploymentEventConnection> {
    return toConnection(DeploymentEventConnection, await listDeploymentEvents(ctx.em, { versionId: version.id }, environment, page));
  }
}
