// GraphQL for deployment history.
import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { toPayload } from '../../../common/graphql/types';
import type { RegistryContext } from '../context';
import { ModelVersion } from '../version/model-version.entity';
import { DeploymentEvent } from './deployment-event.entity';
import { RecordDeploymentEventInput } from './deployment-event.inputs';
import { RecordDeploymentEventPayload } from './deployment-event.payloads';
import { recordDeploymentEvent } from './deployment-event.service';

@Resolver(() => DeploymentEvent)
export class DeploymentEventResolver {
  @Mutation(() => RecordDeploymentEventPayload, { description: 'Appends to a version\'s deployment history.' })
  async recordDeploymentEvent(
    @Arg('input', () => RecordDeploymentEventInput) input: RecordDeploymentEventInput,
    @Ctx() ctx: RegistryContext,
  ): Promise<RecordDeploymentEventPayload> {
    return toPayload(RecordDeploymentEventPayload, await recordDeploymentEvent(ctx.em, input, ctx.identity));
  }

  @FieldResolver(() => ModelVersion)
  async modelVersion(@Root() event: DeploymentEvent, @Ctx() ctx: RegistryContext): Promise<ModelVersion> {
    const version = await ctx.loaders.version.load(event.versionId);
    if (!version) throw new Error(`Version ${event.versionId} of deployment event ${event.id} is missing`);
    return version;
  }
}
