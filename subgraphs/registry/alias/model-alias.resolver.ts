// GraphQL for aliases and rollbacks.
import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { toPayload } from '../../../common/graphql/types';
import type { RegistryContext } from '../context';
import { ModelVersion } from '../version/model-version.entity';
import { ModelAlias } from './model-alias.entity';
import { DeleteModelAliasInput, RollbackModelInput, SetModelAliasInput } from './model-alias.inputs';
import { DeleteModelAliasPayload, RollbackModelPayload, SetModelAliasPayload } from './model-alias.payloads';
import { deleteAlias, rollbackModel, setAlias } from './model-alias.service';

@Resolver(() => ModelAlias)
export class ModelAliasResolver {
  @Mutation(() => SetModelAliasPayload, { description: 'Creates an alias or moves it to another version; recorded in the history.' })
  async setModelAlias(@Arg('input', () => SetModelAliasInput) input: SetModelAliasInput, @Ctx() ctx: RegistryContext): Promise<SetModelAliasPayload> {
    return toPayload(SetModelAliasPayload, await setAlias(ctx.em, input, ctx.identity));
  }

  @Mutation(() => DeleteModelAliasPayload)
  async deleteModelAlias(
    @Arg('input', () => DeleteModelAliasInput) input: DeleteModelAliasInput,
    @Ctx() ctx: RegistryContext,
  ): Promise<DeleteModelAliasPayload> {
    return toPayload(DeleteModelAliasPayload, await deleteAlias(ctx.em, input, ctx.identity));
  }

  @Mutation(() => RollbackModelPayload, {
    description: 'Moves an alias (or, without one, the production stage) back to the version it pointed at before. ' +
      'Rolling back again goes one step further back.',
  })
  async rollbackModel(@Arg('input', () => RollbackModelInput) input: RollbackModelInput, @Ctx() ctx: RegistryContext): Promise<RollbackModelPayload> {
    return toPayload(RollbackModelPayload, await rollbackModel(ctx.em, input, ctx.identity));
  }

  @FieldResolver(() => ModelVersion)
  async modelVersion(@Root() alias: ModelAlias, @Ctx() ctx: RegistryContext): Promise<ModelVersion> {
    const version = await ctx.loaders.version.load(alias.versionId);
    if (!version) throw new Error(`Version ${alias.versionId} of alias ${alias.name} is missing`);
    return version;
  }
}
