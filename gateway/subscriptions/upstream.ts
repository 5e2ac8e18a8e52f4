// The gateway's subscriptions on the subgraphs that own the fields, over graphql-ws. The connection is signed by the
// gateway, each subscription by the identity of the clients it serves. When a subgraph goes away (a restart, a
// deploy), the subscription starts again with `after` set to the last event it received, so the client neither
// notices nor misses anything; errors that another try would not cure (a refused role, a bad argument) end it.
import { GraphQLError, Kind, parse, print, visit, type DocumentNode, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { serviceIdentity, type Identity } from '../../common/auth/identity';
import { signedHeaders, subscriptionRequest, SUBSCRIPTION_CONNECT } from '../../common/auth/request-signature';
import { ErrorCode } from '../../common/graphql/errors';
import type { Logger } from '../../common/logger';

/** Errors after which subscribing again would fail again: the client must change what it asks. */
const FINAL_CODES = new Set<string>([
  ErrorCode.FORBIDDEN,
  ErrorCode.BAD_USER_INPUT,
  ErrorCode.STREAM_TOO_OLD,
  ErrorCode.NOT_FOUND,
  'GRAPHQL_VALIDATION_FAILED',
]);

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

/** One graphql-ws connection per subgraph URL, opened when the first subscription needs it. */
export class UpstreamConnections {
  private readonly clients = new Map<string, Client>();

  constructor(
    private readonly secret: string,
    private readonly logger: Logger,
  ) {}

  client(httpUrl: string): Client {
    let client = this.clients.get(httpUrl);
    if (!client) {
      client = this.create(httpUrl, WebSocket);
      this.clients.set(httpUrl, client);
    }
    return client;
  }

  /**
   * A connection of its own, whose reading can be paused: for a replay, so that a client slower than the replay
   * slows the subgraph down (through TCP) instead of being cut off. The caller disposes of it.
   */
  dedicated(httpUrl: string): { client: Client; pause(): void; resume(): void } {
    const sockets = new Set<WebSocket>();
    let paused = false;
    class Tracked extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols);
        sockets.add(this);
        if (paused) this.pause();
        this.once('close', () => sockets.delete(this));
      }
    }
    return {
      client: this.create(httpUrl, Tracked),
      pause: () => {
        paused = true;
        for (const socket of sockets) socket.pause();
      },
      resume: () => {
        paused = false;
        for (const socket of sockets) socket.resume();
      },
    };
  }

  private create(httpUrl: string, webSocketImpl: unknown): Client {
    const url = httpUrl.replace(/^http/, 'ws');
    return createClient({
      url,
      webSocketImpl,
      lazy: true,
      lazyCloseTimeout: 1_000,
      keepAlive: 10_000,
      // The subscriptions themselves start again, each with a fresh signature and its resume point.
      retryAttempts: 0,
      connectionParams: () => signedHeaders(this.secret, serviceIdentity('gateway'), SUBSCRIPTION_CONNECT),
      on: {
        closed: (event) => this.logger.debug({ url, code: (event as { code?: number }).code }, 'subgraph subscription connection closed'),
      },
    });
  }

  /** A subscribe payload for `identity`, signed over its operation and variables. */
  payload(identity: Identity, query: string, variables: Record<string, unknown>) {
    return { query, variables, extensions: signedHeaders(this.secret, identity, subscriptionRequest({ query, variables })) };
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((client) => client.dispose()));
    this.clients.clear();
  }
}

export interface UpstreamHandlers {
  /** Each event, with the fields the owning subgraph resolved, in order. */
  next(result: ExecutionResult): void;
  /** The subscription cannot go on (errors a retry would not cure). */
  fail(errors: readonly GraphQLError[]): void;
}

/** One subscription on a subgraph, kept alive across its restarts until disposed. */
export class UpstreamSubscription {
  private lastSequence: string | undefined;
  private unsubscribe: (() => void) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_MIN_MS;
  private disposed = false;
  private readonly document: DocumentNode;
  private readonly afterVariable: string | undefined;

  private readonly dedicated: ReturnType<UpstreamConnections['dedicated']> | undefined;

  constructor(
    private readonly connections: UpstreamConnections,
    private readonly url: string,
    operation: string,
    private readonly variables: Record<string, unknown>,
    private readonly identity: Identity,
    /** Whether the root field takes `after` (the streams do): then a restart resumes from the last event. */
    private readonly resumable: boolean,
    private readonly handlers: UpstreamHandlers,
    private readonly logger: Logger,
    /** Whether to use a connection of its own that `pause` can hold back (for a replay to one client). */
    flowControlled = false,
  ) {
    this.document = parse(operation);
    this.afterVariable = resumable ? afterVariableOf(this.document) : undefined;
    this.dedicated = flowControlled ? connections.dedicated(url) : undefined;
  }

  /** Stops reading events (a dedicated connection only): the subgraph waits, through TCP, until `resume`. */
  pause(): void {
    this.dedicated?.pause();
  }

  resume(): void {
    this.dedicated?.resume();
  }

  start(): void {
    if (this.disposed) return;
    const { query, variables } = this.request();
    const payload = this.connections.payload(this.identity, query, variables);
    let ended = false;
    this.unsubscribe = (this.dedicated?.client ?? this.connections.client(this.url)).subscribe<Record<string, unknown>, { sequence?: string }>(payload, {
      next: (result) => {
        this.retryMs = RETRY_MIN_MS;
        const codes = (result.errors ?? []).map((error) => String(error.extensions?.code ?? ''));
        if (!result.data && codes.length > 0) {
          ended = true;
          if (codes.some((code) => FINAL_CODES.has(code)) || codes.includes(ErrorCode.UNAUTHENTICATED)) {
            this.handlers.fail(result.errors!.map((error) => new GraphQLError(error.message, { extensions: error.extensions })));
          } else this.retry(`the subgraph answered ${codes.join(', ')}`);
          return;
        }
        if (typeof result.extensions?.sequence === 'string') this.lastSequence = result.extensions.sequence;
        this.handlers.next(result as ExecutionResult);
      },
      error: (error: unknown) => {
        if (ended) return;
        ended = true;
        if (Array.isArray(error)) {
          const errors = error as GraphQLError[];
          const final = errors.some((e) => FINAL_CODES.has(String(e.extensions?.code ?? '')));
          if (final) return this.handlers.fail(errors.map((e) => new GraphQLError(e.message, { extensions: e.extensions })));
        }
        this.retry(describe(error));
      },
      complete: () => {
        if (ended) return;
        ended = true;
        // The subgraph ended the stream (it is shutting down): take it up again, from where it stopped.
        this.retry('the subgraph ended the subscription');
      },
    });
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    this.unsubscribe?.();
    void this.dedicated?.client.dispose();
  }

  private retry(reason: string): void {
    if (this.disposed) return;
    this.unsubscribe?.();
    const wait = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.logger.info({ url: this.url, reason, retryInMs: wait, after: this.lastSequence }, 'subgraph subscription interrupted; subscribing again');
    this.retryTimer = setTimeout(() => this.start(), wait * (0.5 + Math.random() / 2));
  }

  /** The operation and variables to send now: resuming after the last event received, once there was one. */
  private request(): { query: string; variables: Record<string, unknown> } {
    if (this.lastSequence === undefined || !this.resumable) return { query: print(this.document), variables: this.variables };
    if (this.afterVariable) return { query: print(this.document), variables: { ...this.variables, [this.afterVariable]: this.lastSequence } };
    return { query: print(withAfter(this.document, this.lastSequence)), variables: this.variables };
  }
}

/** The variable the root field's `after` argument reads, if it reads one. */
function afterVariableOf(document: DocumentNode): string | undefined {
  const field = rootField(document);
  const after = field?.arguments?.find((argument) => argument.name.value === 'after');
  return after?.value.kind === Kind.VARIABLE ? after.value.name.value : undefined;
}

function rootField(document: DocumentNode) {
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const selection = operation?.selectionSet.selections[0];
  return selection?.kind === Kind.FIELD ? selection : undefined;
}

/** The document with the root field's `after` argument set to `sequence` (replaced if given). */
function withAfter(document: DocumentNode, sequence: string): DocumentNode {
  const target = rootField(document);
  return visit(document, {
    Field(node) {
      if (node !== target) return undefined;
      const others = (node.arguments ?? []).filter((argument) => argument.name.value !== 'after');
      return {
        ...node,
        arguments: [...others, { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'after' }, value: { kind: Kind.STRING, value: sequence } }],
      };
    },
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  const close = error as { code?: number; reason?: string };
  if (typeof close?.code === 'number') return `connection closed (${close.code}${close.reason ? `: ${close.reason}` : ''})`;
  return String(error);
}
