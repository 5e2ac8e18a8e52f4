// The agent's watch on its own assignments: a `nodeAssignments` subscription through the gateway (graphql-ws). An
// event is only a doorbell that makes the agent reconcile at once; what runs here is still only what the heartbeat
// answers. The watch reconnects forever, with backoff and jitter, resuming after the last event it saw.
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import type { Logger } from '../common/logger';

const NODE_ASSIGNMENTS = 'subscription($after: String) { nodeAssignments(after: $after) { id state sequence } }';

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;
/** A refused credential (revoked or removed node) will not heal by itself: ask again rarely. */
const REFUSED_MIN_MS = 15_000;
const REFUSED_MAX_MS = 300_000;
/** A subscription that lasted this long counts as healthy again: the next outage backs off from the start. */
const STABLE_MS = 10_000;
/** Protocol pings find a connection that died silently (no close ever arrives), so the watch can resubscribe. */
const PING_MS = 15_000;
const PONG_TIMEOUT_MS = 5_000;
/** graphql-ws close codes the gateway uses when it refuses the credential. */
const REFUSED_CLOSE_CODES = new Set([4401, 4403]);

export interface AssignmentWatchOptions {
  /** The gateway's GraphQL endpoint over HTTP(S); the watch uses ws(s) on the same path. */
  gatewayUrl: string;
  /** The Authorization value to connect with (the node's credential). */
  authorization(): string;
  logger: Logger;
  /** The subscription is live (again): events may have been missed meanwhile, so the agent resyncs in full. */
  onConnected(): void;
  /** A change concerns this node: the agent reconciles now. */
  onChange(): void;
}

interface AssignmentEvent {
  id: string;
  state: string;
  sequence: string;
}

interface GraphQLErrorShape {
  message: string;
  extensions?: Record<string, unknown>;
}

/** How a subscription attempt ended. */
type Ending = { errors: readonly GraphQLErrorShape[] } | { error: unknown } | { complete: true };

export class AssignmentWatch {
  private client: Client | undefined;
  private socket: WebSocket | undefined;
  /** Counts subscription attempts; callbacks of an earlier attempt are ignored. */
  private generation = 0;
  /** The sequence of the last event seen: a resubscription replays what came after it. */
  private after: string | undefined;
  /** Attempts in a row that did not last STABLE_MS. */
  private failures = 0;
  /** Since when the watch has been down, to log once per outage rather than once per retry. */
  private downSince: number | undefined;
  private downRefused = false;
  private connectedOnce = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private pongTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: AssignmentWatchOptions) {}

  start(): void {
    this.subscribe();
  }

  /** Ends the subscription and closes the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.generation += 1;
    this.clearTimers();
    clearTimeout(this.retryTimer);
    await this.closeClient();
  }

  private subscribe(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    const current = () => generation === this.generation && !this.stopped;
    // A new client for each attempt: its one connection is this subscription, so `connected` means it is live.
    const client = createClient({
      url: this.options.gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 0,
      keepAlive: PING_MS,
      connectionAckWaitTimeout: 10_000,
      connectionParams: () => ({ authorization: this.options.authorization() }),
      on: {
        connected: (socket) => {
          if (current()) this.connected(socket as WebSocket);
        },
        ping: (received) => {
          if (!received && current()) this.armPongTimer();
        },
        pong: (received) => {
          if (received) clearTimeout(this.pongTimer);
        },
      },
    });
    this.client = client;
    let ended = false;
    const end = (ending: Ending) => {
      if (ended || !current()) return;
      ended = true;
      this.ended(ending);
    };
    client.subscribe<{ nodeAssignments?: unknown }>(
      { query: NODE_ASSIGNMENTS, variables: { after: this.after ?? null } },
      {
        next: (result) => {
          if (!current()) return;
          if (result.data?.nodeAssignments == null && result.errors?.length) end({ errors: result.errors });
          else this.received(result);
        },
        // GraphQL errors refusing the subscription arrive as an array; a lost connection as a close event.
        error: (error: unknown) => end(Array.isArray(error) ? { errors: error as GraphQLErrorShape[] } : { error }),
        complete: () => end({ complete: true }),
      },
    );
  }

  private connected(socket: WebSocket): void {
    this.socket = socket;
    const { logger } = this.options;
    if (this.downSince !== undefined) {
      logger.info({ downForMs: Date.now() - this.downSince, resumeAfter: this.after ?? null }, 'assignment subscription restored; resyncing');
      this.downSince = undefined;
    } else if (!this.connectedOnce) logger.info('watching this node\'s assignments');
    this.connectedOnce = true;
    clearTimeout(this.stableTimer);
    this.stableTimer = setTimeout(() => (this.failures = 0), STABLE_MS);
    this.options.onConnected();
  }

  /** An event: checked, its sequence kept for resuming, then the doorbell rung. */
  private received(result: FormattedExecutionResult<{ nodeAssignments?: unknown }, unknown>): void {
    const event = result.data?.nodeAssignments;
    if (!isAssignmentEvent(event)) {
      this.options.logger.warn({ received: JSON.stringify(result).slice(0, 300) }, 'ignored a malformed assignment event');
      return;
    }
    if (this.after === undefined || Number(event.sequence) > Number(this.after)) this.after = event.sequence;
    this.options.logger.debug({ job: event.id, state: event.state, sequence: event.sequence }, 'assignment event');
    this.options.onChange();
  }

  private ended(ending: Ending): void {
    this.clearTimers();
    void this.closeClient();
    if (this.stopped) return;
    const { logger } = this.options;
    const codes = 'errors' in ending ? ending.errors.map((error) => String(error.extensions?.code ?? '')) : [];
    if (this.after !== undefined && (codes.includes('STREAM_TOO_OLD') || codes.includes('BAD_USER_INPUT'))) {
      // The server no longer keeps (or never had) what came after our last event: start from now. Connecting
      // again resyncs in full, which covers whatever was missed.
      logger.info({ after: this.after, codes }, 'cannot resume the assignment subscription; subscribing from now and resyncing');
      this.after = undefined;
      this.retryTimer = setTimeout(() => this.subscribe(), jitter(RETRY_MIN_MS));
      return;
    }
    const refused = codes.includes('UNAUTHENTICATED') || codes.includes('FORBIDDEN') || REFUSED_CLOSE_CODES.has(closeCodeOf(ending) ?? 0);
    this.failures += 1;
    const wait = jitter(
      refused
        ? Math.min(REFUSED_MAX_MS, REFUSED_MIN_MS * 2 ** (this.failures - 1))
        : Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.failures - 1)),
    );
    const reason = describe(ending);
    if (this.downSince === undefined || (refused && !this.downRefused)) {
      this.downSince ??= Date.now();
      if (refused) logger.error({ reason }, 'the gateway refused this node\'s credential for the assignment subscription; retrying rarely');
      else logger.warn({ reason }, 'assignment subscription lost; reconnecting with backoff (heartbeats carry on)');
    } else logger.debug({ reason, retryInMs: wait, failures: this.failures }, 'assignment subscription still down');
    this.downRefused = refused;
    this.retryTimer = setTimeout(() => this.subscribe(), wait);
  }

  /** No pong in time: the connection is dead though no close came; ending it makes the watch subscribe again. */
  private armPongTimer(): void {
    clearTimeout(this.pongTimer);
    const socket = this.socket;
    this.pongTimer = setTimeout(() => {
      if (socket && socket === this.socket && socket.readyState === WebSocket.OPEN) socket.terminate();
    }, PONG_TIMEOUT_MS);
  }

  private clearTimers(): void {
    clearTimeout(this.stableTimer);
    clearTimeout(this.pongTimer);
  }

  private async closeClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.socket = undefined;
    await client?.dispose();
  }
}

function isAssignmentEvent(value: unknown): value is AssignmentEvent {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  return typeof event.id === 'string' && typeof event.state === 'string' && typeof event.sequence === 'string' && /^\d{1,15}$/.test(event.sequence);
}

/** Between half and all of `ms`, so that agents cut off together do not all come back at the same instant. */
function jitter(ms: number): number {
  return Math.round(ms * (0.5 + Math.random() / 2));
}

function closeCodeOf(ending: Ending): number | undefined {
  if (!('error' in ending)) return undefined;
  const code = (ending.error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function describe(ending: Ending): string {
  if ('complete' in ending) return 'the gateway ended the subscription';
  if ('errors' in ending) return ending.errors.map((error) => `${String(error.extensions?.code ?? 'ERROR')}: ${error.message}`).join('; ').slice(0, 300);
  const { error } = ending;
  if (error instanceof Error) return error.message;
  const close = error as { code?: number; reason?: string } | null;
  if (typeof close?.code === 'number') return `connection closed (${close.code}${close.reason ? `: ${close.reason}` : ''})`;
  // A socket error (e.g. ECONNREFUSED) reaches graphql-ws as an ErrorEvent-like object.
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}
