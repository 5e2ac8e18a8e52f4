// GraphQL served by the gateway itself: who am I, API keys, and the audit log of every service.
import { Arg, Args, Ctx, Field, ID, InputType, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { AuditEntry, AuditOutcome } from '../../common/audit/audit-entry.entity';
import { PageArgs, PageInfo, toConnection, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../common/graphql/connection';
import type { ServiceContext } from '../../common/graphql/context';
import { BadInputError } from '../../common/graphql/errors';
import { RequiresRole, toPayload } from '../../common/graphql/types';
import { ApiKeyRole } from './api-key.entity';
import { CreateApiKeyInput, RevokeApiKeyInput } from './api-key.inputs';
import { ApiKeyConnection, CreateApiKeyPayload, RevokeApiKeyPayload } from './api-key.payloads';
import { createApiKey, listApiKeys, revokeApiKey } from './api-key.service';
import { readAuditLog, type AuditSource } from './audit-log.service';

export interface AccessContext extends ServiceContext {
  auditSources: AuditSource[];
  /** Called after a key is revoked, so that this gateway stops accepting it at once. */
  forgetKey(keyId: string): void;
}

@ObjectType({ description: 'The caller, as identified by its API key.' })
export class Viewer {
  @Field(() => ID, { description: 'The API key\'s id.' })
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => ApiKeyRole)
  role!: ApiKeyRole;
}

@InputType()
export class AuditLogFilter {
  @Field(() => String, { nullable: true, description: 'gateway, registry, scheduler or monitoring.' })
  service?: string | null;

  @Field(() => ID, { nullable: true, description: 'The API key that acted.' })
  actorId?: string | null;

  @Field(() => String, { nullable: true, description: 'The mutation, for example registerModelVersion.' })
  action?: string | null;

  @Field(() => AuditOutcome, { nullable: true })
  outcome?: AuditOutcome | null;

  @Field(() => Date, { nullable: true })
  since?: Date | null;
}

@ObjectType()
class AuditEntryEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => AuditEntry)
  node!: AuditEntry;
}

@ObjectType({ description: 'Audit entries of every service, newest first.' })
export class AuditEntryConnection {
  @Field(() => [AuditEntryEdge])
  edges!: AuditEntryEdge[];

  @Field(() => [AuditEntry])
  nodes!: AuditEntry[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@Resolver()
export class AccessResolver {
  @Query(() => Viewer, { description: 'Who the API key of this request belongs to.' })
  viewer(@Ctx() ctx: AccessContext): Viewer {
    return { id: ctx.identity.id, name: ctx.identity.name, role: ctx.identity.role as ApiKeyRole };
  }

  @Query(() => ApiKeyConnection, { description: 'API keys, newest first.' })
  @RequiresRole('admin')
  async apiKeys(
    @Arg('includeRevoked', () => Boolean, { defaultValue: false }) includeRevoked: boolean,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: AccessContext,
  ): Promise<ApiKeyConnection> {
    return toConnection(ApiKeyConnection, await listApiKeys(ctx.em, includeRevoked, page));
  }

  @Mutation(() => CreateApiKeyPayload, { description: 'Creates an API key; the payload\'s `key` is the only time it is shown.' })
  @RequiresRole('admin')
  async createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: AccessContext): Promise<CreateApiKeyPayload> {
    return toPayload(CreateApiKeyPayload, await createApiKey(ctx.em, input, ctx.identity));
  }

  @Mutation(() => RevokeApiKeyPayload, { description: 'Revokes an API key; requests with it are refused from then on.' })
  @RequiresRole('admin')
  async revokeApiKey(@Arg('input', () => RevokeApiKeyInput) input: RevokeApiKeyInput, @Ctx() ctx: AccessContext): Promise<RevokeApiKeyPayload> {
    const outcome = await revokeApiKey(ctx.em, input, ctx.identity);
    if (outcome.value) ctx.forgetKey(outcome.value.apiKey.id);
    return toPayload(RevokeApiKeyPayload, outcome);
  }

  @Query(() => AuditEntryConnection, { description: 'Every mutation attempted in any service, newest first.' })
  @RequiresRole('admin')
  async auditLog(
    @Arg('filter', () => AuditLogFilter, { nullable: true }) filter: AuditLogFilter | null,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: AccessContext,
  ): Promise<AuditEntryConnection> {
    const first = page.first ?? DEFAULT_PAGE_SIZE;
    if (first < 1 || first > MAX_PAGE_SIZE) throw new BadInputError('first', `must be between 1 and ${MAX_PAGE_SIZE} (got ${first})`);
    if (page.after && !/^[0-9a-f-]{36}$/.test(page.after)) throw new BadInputError('after', 'is not a cursor from this list');
    if (filter?.service && !ctx.auditSources.some((source) => source.service === filter.service)) {
      throw new BadInputError('filter.service', `must be one of ${ctx.auditSources.map((source) => source.service).join(', ')}`);
    }
    const { entries, hasNextPage } = await readAuditLog(ctx.auditSources, ctx.identity, {
      first,
      before: page.after ?? undefined,
      service: filter?.service,
      actorId: filter?.actorId ?? undefined,
      action: filter?.action ?? undefined,
      outcome: filter?.outcome ?? undefined,
      since: filter?.since?.toISOString(),
    });
    const edges = entries.map((node) => ({ node, cursor: node.id }));
    return {
      edges,
      nodes: entries,
      pageInfo: {
        hasNextPage,
        hasPreviousPage: Boolean(page.after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  }
}
