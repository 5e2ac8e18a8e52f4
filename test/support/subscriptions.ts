// A graphql-ws client for tests: subscribes through the gateway as a dashboard would, and collects what arrives.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { ADMIN_KEY } from './platform';

export interface Received {
  data?: Record<string, any>;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  extensions?: Record<string, unknown>;
}

export interface TestSubscription {
  results: Received[];
  /** Set once the subscription ended: `complete`, or the error (a close event or GraphQL errors). */
  ended?: { complete: true } | { error: unknown };
  /** Waits until `predicate` holds for the results so far. */
  until(predicate: (results: Received[]) => boolean, timeoutMs?: number): Promise<Received[]>;
  stop(): void;
}

export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

export function connect(httpUrl: string, key: string | null = ADMIN_KEY, options: { onClose?: (event: { code: number; reason: string }) => void } = {}): Client {
  return createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
    connectionParams: key === null ? {} : { authorization: `Bearer ${key}` },
    on: { closed: (event) => options.onClose?.(event as { code: number; reason: string }) },
  });
}

export function subscribe(client: Client, query: string, variables: Record<string, unknown> = {}): TestSubscription {
  const subscription: TestSubscription = {
    results: [],
    async until(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(subscription.results)) {
        if (Date.now() > deadline) {
          throw new Error(`timed out; received ${JSON.stringify(subscription.results).slice(0, 2_000)}; ended ${JSON.stringify(subscription.ended)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return subscription.results;
    },
    stop: () => undefined,
  };
  subscription.stop = client.subscribe(
    { query, variables },
    {
      next: (result) => void subscription.results.push(result as Received),
      error: (error) => (subscription.ended = { error }),
      complete: () => (subscription.ended = { complete: true }),
    },
  );
  return subscription;
}
