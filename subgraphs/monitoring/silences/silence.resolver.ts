// GraphQL for silences: create, expire, list.
import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { PageArgs, toConnection } from '../../../common/graphql/connection';
import { toPayload } from '../../../common/graphql/types';
import type { MonitoringContext } from '../context';
import { CreateSilenceInput, ExpireSilenceInput } from './silence.inputs';
import { CreateSilencePayload, ExpireSilencePayload, SilenceConnection } from './silence.payloads';
import { createSilence, expireSilence, listSilences } from './silence.service';
import { Silence, SilenceState, silenceState } from './silence.entity';

@Resolver(() => Silence)
export class SilenceResolver {
  @Query(() => SilenceConnection, { description: 'Silences, newest first.' })
  async silences(
    @Args(() => PageArgs) page: PageArgs,
    @Arg('state', () => SilenceState, { nullable: true }) state: SilenceState | null,
    @Ctx() ctx: MonitoringContext,
  ): Promise<SilenceConnection> {
    return toConnection(SilenceConnection, await listSilences(ctx.em, page, state));
  }

  @Mutation(() => CreateSilencePayload, {
    description: 'Holds back the notifications of the alerts its matchers match, from `startsAt` (now) until `endsAt`; the alerts are still kept and shown.',
  })
  async createSilence(@Arg('input', () => CreateSilenceInput) input: CreateSilenceInput, @Ctx() ctx: MonitoringContext): Promise<CreateSilencePayload> {
    return toPayload(CreateSilencePayload, await createSilence(ctx.em, input, ctx.identity.name));
  }

  @Mutation(() => ExpireSilencePayload, { description: 'Ends a silence now; its alerts notify again from the next evaluation.' })
  async expireSilence(@Arg('input', () => ExpireSilenceInput) input: ExpireSilenceInput, @Ctx() ctx: MonitoringContext): Promise<ExpireSilencePayload> {
    return toPayload(ExpireSilencePayload, await expireSilence(ctx.em, input));
  }

  @FieldResolver(() => SilenceState)
  state(@Root() silence: Silence): SilenceState {
    return silenceState(silence);
  }
}
