// Subscriptions across subgraphs, which @apollo/gateway does not execute. The query planner splits a subscription
// into its primary fetch (the root field, on the subgraph that owns it) and the rest (the other subgraphs' fields,
// fetched as entities by key). The primary runs as a graphql-ws subscription on its subgraph; for each event, the
// rest of the plan runs through the gateway's own executor, exactly as for a query, with the event standing in for
// the primary fetch's answer. Clients that send the same operation with the same variables and the same rights
// share one upstream subscription and one execution per event, however many they are; the entity fetches of
// events that come together are batched into one request per subgraph (entity-batcher.ts).
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { buildOperationContext, executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import { QueryPlanner, type FetchNode, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Identity } from '../../common/auth/identity';
import { BoundedQueue, SlowConsumerError } from '../../common/events/bounded-queue';
import { ErrorCode, TouchlineError } from '../../common/graphql/errors';
import type { Logger } from '../../common/logger';
import { checkQueryLimits, type QueryLimits } from '../query-limits';
import { EntityBatcher } from './entity-batcher';
import { UpstreamConnections, UpstreamSubscription } from './upstream';

export interface FederatedSubscriptionOptions {
  secret: string;
  logger: Logger;
  limits: QueryLimits;
  /** How many results may wait for one subscriber before it is cut off. */
  subscriberBuffer: number;
  /**
   * How far back a subscription may resume. A replay comes in bursts (its upstream is paused when the client falls
   * behind, but what is already on the wire still arrives), so a replaying subscriber may hold up to this many more.
   */
  replayWindow: number;
  /** The data source the gateway uses for each subgraph, for the entity fetches of each event. */
  dataSource(name: string, url: string): GraphQLDataSource;
}

export interface SubscriptionRequest {
  query: string;
  /** The query already parsed, when the caller has it. */
  document?: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  identity: Identity;
  requestId: string;
  /** Called when this subscriber fell too far behind and was cut off. */
  onSlow?(error: SlowConsumerError): void;
}

interface Composition {
  id: number;
  apiSchema: Schema;
  graphqlApiSchema: GraphQLSchema;
  supergraphSchema: GraphQLSchema;
  planner: QueryPlanner;
  urls: Map<string, string>;
  services: ServiceMap;
}

/** The counters the benchmark and /metrics read. */
export interface SubscriptionStats {
  groups: number;
  subscribers: number;
  /** Events received from the subgraphs. */
  events: number;
  /** Requests sent to subgraphs to complete events (entity fetches). */
  entityFetches: number;
}

export class FederatedSubscriptions {
  private composition: Composition | undefined;
  private readonly groups = new Map<string, SubscriptionGroup>();
  private readonly connections: UpstreamConnections;
  readonly stats: SubscriptionStats = { groups: 0, subscribers: 0, events: 0, entityFetches: 0 };
  private resumes = 0;

  constructor(private readonly options: FederatedSubscriptionOptions) {
    this.connections = new UpstreamConnections(options.secret, options.logger);
  }

  /** Takes in a newly composed supergraph; subscriptions under way keep the plan they started with. */
  update(supergraphSdl: string): void {
    const supergraph = Supergraph.build(supergraphSdl);
    const apiSchema = supergraph.apiSchema();
    const urls = new Map(supergraph.subgraphsMetadata().map(({ name, url }) => [name, url]));
    const services: ServiceMap = Object.create(null) as ServiceMap;
    for (const [name, url] of urls) services[name] = new EntityBatcher(this.countingFetches(this.options.dataSource(name, url)));
    this.composition = {
      id: (this.composition?.id ?? 0) + 1,
      apiSchema,
      graphqlApiSchema: apiSchema.toGraphQLJSSchema(),
      supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
      planner: new QueryPlanner(supergraph),
      urls,
      services,
    };
  }

  get schema(): GraphQLSchema | undefined {
    return this.composition?.graphqlApiSchema;
  }

  /** Starts a subscription: its results, or the errors that refuse it. */
  subscribe(request: SubscriptionRequest): AsyncIterable<ExecutionResult> | ExecutionResult {
    const composition = this.composition;
    if (!composition) return failure(new TouchlineError('The gateway is starting; subscribe again shortly', ErrorCode.SERVICE_UNAVAILABLE));
    let document: DocumentNode;
    try {
      document = request.document ?? parse(request.query, { maxTokens: 20_000 });
    } catch (error) {
      return failure(error as GraphQLError);
    }
    const validationErrors = validate(composition.graphqlApiSchema, document);
    if (validationErrors.length > 0) return { errors: validationErrors };
    const operation = getOperationAST(document, request.operationName);
    if (!operation || operation.operation !== 'subscription') {
      return failure(new TouchlineError('Expected a subscription operation (name it with operationName when the document holds several)', ErrorCode.BAD_REQUEST));
    }
    const variables = request.variables ?? {};
    const coerced = getVariableValues(composition.graphqlApiSchema, operation.variableDefinitions ?? [], variables);
    if (coerced.errors) return { errors: coerced.errors };
    try {
      checkQueryLimits(this.options.limits, composition.graphqlApiSchema, document, operation, variables);
    } catch (error) {
      return failure(error as GraphQLError);
    }

    const { identity } = request;
    // Clients with the same rights see the same events: a node's credential only its own node's.
    const audience = identity.kind === 'node' ? `node:${identity.id}` : identity.role;
    // A subscription that resumes (`after`) replays from its own point: sharing it would give later joiners only
    // the rest of the replay. Live ones share.
    const resuming = hasAfterArgument(operation, variables);
    const key = JSON.stringify([composition.id, request.query, request.operationName ?? null, variables, audience, resuming ? ++this.resumes : 0]);
    let group = this.groups.get(key);
    if (!group) {
      try {
        group = new SubscriptionGroup(this, composition, document, operation, request, resuming, () => {
          this.groups.delete(key);
          this.stats.groups = this.groups.size;
        });
      } catch (error) {
        this.options.logger.warn({ err: error }, 'could not plan a subscription');
        return failure(error instanceof GraphQLError ? error : new TouchlineError(`Cannot plan this subscription: ${(error as Error).message}`, ErrorCode.BAD_REQUEST));
      }
      this.groups.set(key, group);
      this.stats.groups = this.groups.size;
    }
    return group.join(request.onSlow);
  }

  async close(): Promise<void> {
    for (const group of [...this.groups.values()]) group.end();
    await this.connections.close();
  }

  /** @internal for SubscriptionGroup */
  upstream(
    composition: Composition,
    fetch: FetchNode,
    variables: Record<string, unknown>,
    identity: Identity,
    resumable: boolean,
    group: SubscriptionGroup,
    flowControlled: boolean,
  ) {
    const url = composition.urls.get(fetch.serviceName);
    if (!url) throw new Error(`no URL for subgraph ${fetch.serviceName}`);
    return new UpstreamSubscription(this.connections, url, fetch.operation, variables, identity, resumable, group, this.options.logger, flowControlled);
  }

  /** @internal */
  get subscriberBuffer(): number {
    return this.options.subscriberBuffer;
  }

  /** @internal */
  get replayWindow(): number {
    return this.options.replayWindow;
  }

  /** @internal */
  get logger(): Logger {
    return this.options.logger;
  }

  private countingFetches(source: GraphQLDataSource): GraphQLDataSource {
    return {
      process: (options) => {
        this.stats.entityFetches += 1;
        return source.process(options);
      },
    };
  }
}

interface Subscriber {
  queue: BoundedQueue<ExecutionResult>;
}

/** One upstream subscription and the clients it serves; each event is completed once, then given to every one. */
class SubscriptionGroup {
  private readonly subscribers = new Set<Subscriber>();
  private readonly primary: FetchNode;
  private readonly plan: QueryPlan;
  private readonly upstream: UpstreamSubscription;
  private readonly operationContext: ReturnType<typeof buildOperationContext>;
  private readonly variables: Record<string, unknown>;
  private readonly identity: Identity;
  private readonly requestId: string;
  private readonly query: string;
  private delivered: Promise<void> = Promise.resolve();
  private ended = false;
  /** A replay pauses its upstream when its client's queue is half full, and resumes it when a quarter full. */
  private readonly highWater = Math.max(1, Math.floor(this.owner.subscriberBuffer / 2));
  private readonly lowWater = Math.floor(this.owner.subscriberBuffer / 4);

  constructor(
    private readonly owner: FederatedSubscriptions,
    private readonly composition: Composition,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    request: SubscriptionRequest,
    /** A replay to one client: its upstream reads only as fast as that client takes the events. */
    private readonly replaying: boolean,
    private readonly onEmpty: () => void,
  ) {
    this.query = request.query;
    this.variables = request.variables ?? {};
    this.identity = request.identity;
    this.requestId = request.requestId;
    this.operationContext = buildOperationContext({
      schema: composition.graphqlApiSchema,
      operationDocument: document,
      operationName: request.operationName ?? undefined,
    });
    const planned = composition.planner.buildQueryPlan(operationFromDocument(composition.apiSchema, document, { operationName: request.operationName ?? undefined }));
    if (planned.node?.kind !== 'Subscription') throw new Error('the plan of a subscription has no subscription node');
    this.primary = planned.node.primary;
    const rest: PlanNode | undefined = planned.node.rest;
    this.plan = { kind: 'QueryPlan', node: rest ? { kind: 'Sequence', nodes: [this.primary, rest] } : this.primary };

    const rootField = operation.selectionSet.selections[0];
    const fieldName = rootField?.kind === 'Field' ? rootField.name.value : '';
    const resumable = Boolean(composition.graphqlApiSchema.getSubscriptionType()?.getFields()[fieldName]?.args.some((arg) => arg.name === 'after'));
    const upstreamVariables = Object.fromEntries((this.primary.variableUsages ?? []).filter((name) => name in this.variables).map((name) => [name, this.variables[name]]));
    this.upstream = owner.upstream(composition, this.primary, upstreamVariables, this.identity, resumable, this, replaying);
    this.upstream.start();
  }

  join(onSlow?: (error: SlowConsumerError) => void): BoundedQueue<ExecutionResult> {
    const subscriber: Subscriber = {
      queue: new BoundedQueue<ExecutionResult>({
        limit: this.replaying ? this.owner.subscriberBuffer + this.owner.replayWindow : this.owner.subscriberBuffer,
        onClose: () => this.leave(subscriber),
        onOverflow: onSlow,
        positionOf: sequenceOf,
        onTake: (left) => {
          if (this.replaying && left <= this.lowWater) this.upstream.resume();
        },
      }),
    };
    this.subscribers.add(subscriber);
    this.owner.stats.subscribers += 1;
    return subscriber.queue;
  }

  /** An event from the owning subgraph: completes it with the other subgraphs' fields, then hands it out in order. */
  next(result: ExecutionResult): void {
    this.owner.stats.events += 1;
    const completed = this.complete(result);
    this.delivered = this.delivered
      .then(() => completed)
      .then((final) => {
        for (const subscriber of this.subscribers) {
          subscriber.queue.push(final);
          if (this.replaying && subscriber.queue.length >= this.highWater) this.upstream.pause();
        }
      });
  }

  /** The upstream subscription was refused or cannot go on: each client gets the errors, then the end. */
  fail(errors: readonly GraphQLError[]): void {
    this.delivered = this.delivered.then(() => {
      for (const subscriber of [...this.subscribers]) {
        subscriber.queue.push({ errors });
        subscriber.queue.end();
      }
    });
    this.end();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.upstream.dispose();
    this.onEmpty();
    void this.delivered.then(() => {
      for (const subscriber of this.subscribers) subscriber.queue.end();
    });
  }

  private leave(subscriber: Subscriber): void {
    if (!this.subscribers.delete(subscriber)) return;
    this.owner.stats.subscribers -= 1;
    if (this.subscribers.size === 0) this.end();
  }

  private async complete(event: ExecutionResult): Promise<ExecutionResult> {
    const { composition, primary } = this;
    const real = composition.services[primary.serviceName];
    // The primary fetch answers with the event; any other fetch to that subgraph goes to it as usual.
    const services: ServiceMap = Object.assign(Object.create(null) as ServiceMap, composition.services, {
      [primary.serviceName]: {
        process: (options: Parameters<GraphQLDataSource['process']>[0]) =>
          'request' in options && options.request.query === primary.operation
            ? Promise.resolve({ data: event.data as Record<string, unknown>, errors: event.errors as never })
            : real!.process(options),
      },
    });
    try {
      const result = await executeQueryPlan(
        this.plan,
        services,
        {
          request: { query: this.query, variables: this.variables },
          context: { identity: this.identity, requestId: this.requestId },
          logger: this.owner.logger,
          metrics: {},
          cache: undefined,
          overallCachePolicy: undefined,
        } as never,
        this.operationContext,
        composition.supergraphSchema,
        composition.apiSchema,
      );
      const sequence = sequenceOf(event);
      return sequence === undefined ? result : { ...result, extensions: { ...result.extensions, sequence } };
    } catch (error) {
      this.owner.logger.error({ err: error }, 'could not complete a subscription event');
      return { errors: [new GraphQLError('Internal server error', { extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } })] };
    }
  }
}

/** Whether the root field is given an `after` (a literal, or a variable with a value). */
function hasAfterArgument(operation: OperationDefinitionNode, variables: Record<string, unknown>): boolean {
  const root = operation.selectionSet.selections[0];
  const after = root?.kind === 'Field' ? root.arguments?.find((argument) => argument.name.value === 'after') : undefined;
  if (!after) return false;
  if (after.value.kind === 'Variable') return variables[after.value.name.value] != null;
  return after.value.kind !== 'NullValue';
}

function sequenceOf(result: ExecutionResult): string | undefined {
  const sequence = result.extensions?.sequence;
  return typeof sequence === 'string' ? sequence : undefined;
}

function failure(error: GraphQLError): ExecutionResult {
  return { errors: [error] };
}
