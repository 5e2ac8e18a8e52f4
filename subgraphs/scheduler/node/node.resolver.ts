// GraphQL for nodes and join tokens.
import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { PageArgs, toConnection } from '../../../common/graphql/connection';
import { RequiresRole, toPayload } from '../../../common/graphql/types';
import type { SchedulerContext } from '../context';
import { JobState } from '../job/job-state';
import { JobConnection } from '../job/job.payloads';
import { listJobs } from '../job/job.service';
import { JoinToken, Node } from './node.entity';
import { CreateJoinTokenInput, DrainNodeInput, NodeFilter, NodeRefInput, RemoveNodeInput, RevokeJoinTokenInput } from './node.inputs';
import {
  CordonNodePayload,
  CreateJoinTokenPayload,
  DrainNodePayload,
  NodeConnection,
  RemoveNodePayload,
  RevokeJoinTokenPayload,
  UncordonNodePayload,
} from './node.payloads';
import { cordonNode, createJoinToken, drainNode, listNodes, removeNode, revokeJoinToken } from './node.service';

@Resolver(() => Node)
export class NodeResolver {
  @Query(() => Node, { nullable: true })
  async node(@Arg('id', () => ID) id: string, @Ctx() ctx: SchedulerContext): Promise<Node | undefined> {
    const node = await ctx.loaders.node.load(id);
    return node?.removedAt ? undefined : node;
  }

  @Query(() => NodeConnection, { description: 'Enrolled nodes, in name order.' })
  async nodes(
    @Arg('filter', () => NodeFilter, { nullable: true }) filter: NodeFilter | null,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: SchedulerContext,
  ): Promise<NodeConnection> {
    return toConnection(NodeConnection, await listNodes(ctx.em, filter, page));
  }

  @Mutation(() => CordonNodePayload, { description: 'The node takes no new jobs; those on it go on.' })
  async cordonNode(@Arg('input', () => NodeRefInput) input: NodeRefInput, @Ctx() ctx: SchedulerContext): Promise<CordonNodePayload> {
    return toPayload(CordonNodePayload, await cordonNode(ctx.em, input, true));
  }

  @Mutation(() => UncordonNodePayload, { description: 'The node takes new jobs again (ends a cordon or a drain).' })
  async uncordonNode(@Arg('input', () => NodeRefInput) input: NodeRefInput, @Ctx() ctx: SchedulerContext): Promise<UncordonNodePayload> {
    return toPayload(UncordonNodePayload, await cordonNode(ctx.em, input, false));
  }

  @Mutation(() => DrainNodePayload, { description: 'The node takes no new jobs; jobs still on it at the deadline move to other nodes.' })
  async drainNode(@Arg('input', () => DrainNodeInput) input: DrainNodeInput, @Ctx() ctx: SchedulerContext): Promise<DrainNodePayload> {
    return toPayload(DrainNodePayload, await drainNode(ctx.em, input));
  }

  @Mutation(() => RemoveNodePayload, { description: 'Removes a node; its credential stops working.' })
  async removeNode(@Arg('input', () => RemoveNodeInput) input: RemoveNodeInput, @Ctx() ctx: SchedulerContext): Promise<RemoveNodePayload> {
    return toPayload(RemoveNodePayload, await removeNode(ctx.em, input, ctx.identity));
  }

  @Query(() => [JoinToken], { description: 'Join tokens, newest first.' })
  @RequiresRole('admin')
  joinTokens(@Ctx() ctx: SchedulerContext): Promise<JoinToken[]> {
    return ctx.em.find(JoinToken, { order: { id: 'DESC' }, take: 100 });
  }

  @Mutation(() => CreateJoinTokenPayload, { description: 'Makes a token with which node agents enroll (`touchline agent --join-token`).' })
  @RequiresRole('admin')
  async createJoinToken(@Arg('input', () => CreateJoinTokenInput) input: CreateJoinTokenInput, @Ctx() ctx: SchedulerContext): Promise<CreateJoinTokenPayload> {
    return toPayload(CreateJoinTokenPayload, await createJoinToken(ctx.em, input, ctx.identity, ctx.secret));
  }

  @Mutation(() => RevokeJoinTokenPayload)
  @RequiresRole('admin')
  async revokeJoinToken(@Arg('input', () => RevokeJoinTokenInput) input: RevokeJoinTokenInput, @Ctx() ctx: SchedulerContext): Promise<RevokeJoinTokenPayload> {
    return toPayload(RevokeJoinTokenPayload, await revokeJoinToken(ctx.em, input));
  }

  @FieldResolver(() => JobConnection, { description: 'Jobs on it now (scheduled, starting or running), newest first.' })
  async jobs(@Root() node: Node, @Args(() => PageArgs) page: PageArgs, @Ctx() ctx: SchedulerContext): Promise<JobConnection> {
    const active = [JobState.SCHEDULED, JobState.STARTING, JobState.RUNNING];
    return toConnection(JobConnection, await listJobs(ctx.em, { node: node.id, states: active }, page));
  }
}
