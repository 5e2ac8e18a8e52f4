// Every root field passes here: its roles are checked, and a mutation runs in one transaction that also
// writes its audit entry, so a mutation is recorded exactly when it happens, and rolled back whole otherwise.
import { GraphQLError, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { ResolversMap } from 'type-graphql';
import { QueryFailedError } from 'typeorm';
import { hasRole, type Identity, type Role } from '../auth/identity';
import { AuditOutcome } from '../audit/audit-entry.entity';
import { recordAudit, type AuditRecord } from '../audit/audit-log';
import type { ServiceContext } from './context';
import { ForbiddenError } from './errors';
import { hasUserErrors, requiredRolesOf, type Payload } from './types';

type Resolver = GraphQLFieldResolver<unknown, ServiceContext, Record<string, unknown>>;

/** Wraps the resolvers of `Query` and `Mutation` fields in `resolvers` (built from `schema`) in place. */
export function guardOperations(schema: GraphQLSchema, resolvers: ResolversMap): void {
  for (const rootType of [schema.getQueryType(), schema.getMutationType()]) {
    if (!rootType) continue;
    const isMutation = rootType === schema.getMutationType();
    const fieldResolvers = (resolvers[rootType.name] ?? {}) as Record<string, Resolver>;
    for (const field of Object.values(rootType.getFields())) {
      const resolve = fieldResolvers[field.name];
      if (typeof resolve !== 'function') continue;
      const required = requiredRolesOf(field.extensions) ?? [isMutation ? 'operator' : 'viewer'];
      const audited = field.extensions?.audited !== false;
      fieldResolvers[field.name] = isMutation ? guardMutation(field.name, required, audited, resolve) : guardQuery(field.name, required, resolve);
    }
  }
}

/**
 * Wraps the `subscribe` of `Subscription` fields: the role is checked when the subscription starts, and each event's
 * `sequence` (when it has one) is noted in the context, for the subgraph to send it beside the event.
 */
export function guardSubscriptions(schema: GraphQLSchema, resolvers: ResolversMap): void {
  const rootType = schema.getSubscriptionType();
  if (!rootType) return;
  const fieldResolvers = (resolvers[rootType.name] ?? {}) as Record<string, { subscribe?: Subscribe; resolve?: Resolver }>;
  for (const field of Object.values(rootType.getFields())) {
    const entry = fieldResolvers[field.name];
    const subscribe = entry?.subscribe;
    if (!entry || typeof subscribe !== 'function') continue;
    const required = requiredRolesOf(field.extensions) ?? ['viewer'];
    entry.subscribe = async (root, args, context, info) => {
      if (!hasAnyRole(context.identity, required)) throw forbidden(field.name, required, context.identity);
      return notingSequences(await subscribe(root, args, context, info), context);
    };
  }
}

type Subscribe = (...args: Parameters<Resolver>) => Promise<AsyncIterable<unknown>> | AsyncIterable<unknown>;

/**
 * The events, noting each one's sequence in the context as it goes out. Not an async generator: ending one of those
 * waits for its pending `next`, so a quiet stream would hold its subscriber until the next event; this ends at once.
 */
function notingSequences(events: AsyncIterable<unknown>, context: ServiceContext): AsyncIterableIterator<unknown> {
  const source = events[Symbol.asyncIterator]();
  const iterator: AsyncIterableIterator<unknown> = {
    async next() {
      const result = await source.next();
      context.clearCaches?.();
      const sequence = (result.value as { sequence?: unknown } | null | undefined)?.sequence;
      if (!result.done && typeof sequence === 'string') context.lastSequence = sequence;
      return result;
    },
    return: (value?: unknown) => source.return?.(value) ?? Promise.resolve({ value: undefined, done: true }),
    throw: (error?: unknown) => source.throw?.(error) ?? Promise.reject(error as Error),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

function hasAnyRole(identity: Identity, roles: readonly Role[]): boolean {
  return roles.some((role) => hasRole(identity, role));
}

function forbidden(operation: string, roles: readonly Role[], identity: Identity): ForbiddenError {
  return new ForbiddenError(operation, roles.join(' or '), identity.role);
}

function guardQuery(name: string, required: readonly Role[], resolve: Resolver): Resolver {
  return (root, args, context, info) => {
    if (!hasAnyRole(context.identity, required)) throw forbidden(name, required, context.identity);
    return resolve(root, args, context, info);
  };
}

class Rejected {
  constructor(readonly payload: Payload) {}
}

const MAX_ATTEMPTS = 3;

function guardMutation(name: string, required: readonly Role[], audited: boolean, resolve: Resolver): Resolver {
  return async (root, args, context, info) => {
    const audit = (outcome: AuditOutcome, extra: Partial<AuditRecord> = {}): AuditRecord => ({
      service: context.service,
      identity: context.identity,
      action: name,
      outcome,
      input: args.input ?? args,
      requestId: context.requestId,
      ...extra,
    });
    const recordOutside = (record: AuditRecord) =>
      context.db.transaction((em) => recordAudit(em, record)).catch((error: unknown) => {
        context.logger.error({ err: error, action: name }, 'could not write an audit entry');
      });

    if (!hasAnyRole(context.identity, required)) {
      await recordOutside(audit(AuditOutcome.FORBIDDEN, { detail: `needs the ${required.join(' or ')} role` }));
      throw forbidden(name, required, context.identity);
    }

    for (let attempt = 1; ; attempt++) {
      try {
        const payload = await context.db.transaction(async (em) => {
          const result: unknown = await resolve(root, args, { ...context, em }, info);
          if (hasUserErrors(result)) throw new Rejected(result);
          if (audited) await recordAudit(em, audit(AuditOutcome.SUCCEEDED, { target: targetOf(result) }));
          return result;
        });
        context.afterCommit?.();
        return payload;
      } catch (error) {
        if (error instanceof Rejected) {
          if (audited) await recordOutside(audit(AuditOutcome.REJECTED, { detail: describeUserErrors(error.payload) }));
          return error.payload;
        }
        // Two writers raced (for the same unique value, or for locks taken in another order): run it again; the
        // loser now sees the winner's rows.
        if (isRetryable(error) && attempt < MAX_ATTEMPTS) continue;
        const code = error instanceof GraphQLError ? String(error.extensions.code ?? 'ERROR') : 'INTERNAL_SERVER_ERROR';
        await recordOutside(audit(AuditOutcome.FAILED, { detail: code }));
        throw error;
      }
    }
  };
}

/** The object a payload is about: its first field holding something with an id. */
function targetOf(payload: unknown): AuditRecord['target'] {
  if (typeof payload !== 'object' || payload === null) return null;
  for (const [type, value] of Object.entries(payload)) {
    if (type !== 'userErrors' && typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string') {
      return { type, id: (value as { id: string }).id };
    }
  }
  return null;
}

function describeUserErrors(payload: Payload): string {
  return payload.userErrors.map((e) => `${e.code}${e.field ? ` at ${e.field.join('.')}` : ''}: ${e.message}`).join('; ');
}

/** A conflict with a concurrent transaction, which running again resolves. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: string } | undefined)?.code;
  return (
    code === '23505' || // unique_violation
    code === '40P01' || // deadlock_detected
    code === '40001' || // serialization_failure
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_BUSY'
  );
}
