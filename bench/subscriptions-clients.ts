// Subscribers for bench/subscriptions.ts, in a process of their own so that the load generator's CPU is not the
// gateway's: N graphql-ws clients, one WebSocket each, all on the same operation, each with its own variables (the
// model it watches, or none). Each result's
// latency is its arrival time minus the job's `updatedAt` (when the scheduler made the change), on the same clock.
import { performance } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface ClientsSetup {
  url: string;
  key: string;
  count: number;
  query: string;
  /** The variables of each subscriber, one entry per subscriber (`count` of them). */
  variables: Record<string, unknown>[];
  /** How many connections to open at once. */
  openConcurrency: number;
}

/** What the parent asks. */
export type ClientsRequest =
  | { type: 'open'; setup: ClientsSetup }
  /** Count arrivals from `from` to `to` (epoch ms, this machine's clock) as the measured window. */
  | { type: 'window'; from: number; to: number }
  | { type: 'snapshot'; id: number }
  | { type: 'report'; id: number }
  | { type: 'close' };

export type ClientsMessage =
  | { type: 'opened'; count: number; failed: number; firstError?: string }
  | { type: 'snapshot'; id: number; snapshot: ClientsSnapshot }
  | { type: 'report'; id: number; report: ClientsReport }
  | { type: 'closed' };

export interface ClientsSnapshot {
  /** Results received since the start, by all subscribers. */
  received: number;
  /** Results with GraphQL errors, or without the registry's fields. */
  incomplete: number;
  /** Subscriptions that ended (error, complete, or a closed connection such as a slow-consumer cut-off). */
  ended: number;
  cpuMicros: number;
  rssBytes: number;
}

export interface ClientsReport extends ClientsSnapshot {
  /** Latency histogram of the results that arrived in the window: counts per HISTOGRAM_STEP_MS bucket. */
  histogram: number[];
  /** Latencies beyond the histogram, in ms. */
  overflow: number[];
  windowReceived: number;
  /**
   * For each event (by sequence) whose change happened in the window: how many subscribers received it (at any time),
   * and the model of its job (which says how many subscribers watch it).
   */
  receivedBySequence: Record<string, { count: number; model: string }>;
  /** Results that arrived out of order for their subscriber (a sequence not above the last one it got). */
  outOfOrder: number;
  closeReasons: Record<string, number>;
  errorSamples: string[];
}

export const HISTOGRAM_STEP_MS = 0.1;
const HISTOGRAM_BUCKETS = 600_000; // 60 s

interface JobUpdated {
  jobUpdated?: { sequence?: string; updatedAt?: string; modelVersion?: { version?: string; model?: { name?: string } | null } | null };
}

function send(message: ClientsMessage): void {
  process.send?.(message);
}

function main(): void {
  const clients: Client[] = [];
  const histogram = new Uint32Array(HISTOGRAM_BUCKETS);
  const overflow: number[] = [];
  const receivedBySequence = new Map<string, { count: number; model: string }>();
  const closeReasons = new Map<string, number>();
  const errorSamples: string[] = [];
  let window: { from: number; to: number } | undefined;
  let received = 0;
  let windowReceived = 0;
  let incomplete = 0;
  let ended = 0;
  let outOfOrder = 0;

  const noteError = (message: string) => {
    if (errorSamples.length < 5 && !errorSamples.includes(message)) errorSamples.push(message);
  };

  const snapshot = (): ClientsSnapshot => {
    const cpu = process.cpuUsage();
    return { received, incomplete, ended, cpuMicros: cpu.user + cpu.system, rssBytes: process.memoryUsage().rss };
  };

  const subscribeOne = (setup: ClientsSetup, variables: Record<string, unknown>): Promise<void> =>
    new Promise((resolve, reject) => {
      let lastSequence = -1;
      let settled = false;
      const client = createClient({
        url: setup.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${setup.key}` },
        on: {
          connected: () => {
            settled = true;
            resolve();
          },
          closed: (event) => {
            const close = event as { code?: number; reason?: string };
            const reason = `${close.code ?? '?'} ${close.reason ?? ''}`.trim();
            if (!settled) {
              settled = true;
              reject(new Error(`connection closed before it was acknowledged: ${reason}`));
            }
            closeReasons.set(reason, (closeReasons.get(reason) ?? 0) + 1);
          },
        },
      });
      clients.push(client);
      client.subscribe<JobUpdated>(
        { query: setup.query, variables },
        {
          next: (result) => {
            const arrived = performance.timeOrigin + performance.now();
            received++;
            const job = result.data?.jobUpdated;
            if (result.errors?.length || !job?.modelVersion?.version) {
              incomplete++;
              noteError(result.errors?.[0]?.message ?? `an event without modelVersion: ${JSON.stringify(result).slice(0, 200)}`);
            }
            const sequence = job?.sequence ?? '';
            if (Number(sequence) <= lastSequence) outOfOrder++;
            lastSequence = Number(sequence);
            const changedAt = job?.updatedAt ? Date.parse(job.updatedAt) : NaN;
            if (window && changedAt >= window.from && changedAt < window.to) {
              const seen = receivedBySequence.get(sequence);
              if (seen) seen.count++;
              else receivedBySequence.set(sequence, { count: 1, model: job?.modelVersion?.model?.name ?? '' });
            }
            if (window && arrived >= window.from && arrived < window.to && Number.isFinite(changedAt)) {
              windowReceived++;
              const latency = Math.max(0, arrived - changedAt);
              const bucket = Math.floor(latency / HISTOGRAM_STEP_MS);
              if (bucket < HISTOGRAM_BUCKETS) histogram[bucket]!++;
              else overflow.push(latency);
            }
          },
          error: (error) => {
            ended++;
            noteError(Array.isArray(error) ? `subscription refused: ${(error as { message: string }[])[0]?.message}` : `subscription ended: ${describe(error)}`);
          },
          complete: () => {
            ended++;
          },
        },
      );
    });

  const open = async (setup: ClientsSetup) => {
    let next = 0;
    let failed = 0;
    let firstError: string | undefined;
    await Promise.all(
      Array.from({ length: Math.min(setup.openConcurrency, setup.count) }, async () => {
        while (next < setup.count) {
          const variables = setup.variables[next++] ?? {};
          try {
            await subscribeOne(setup, variables);
          } catch (error) {
            failed++;
            firstError ??= (error as Error).message;
          }
        }
      }),
    );
    send({ type: 'opened', count: setup.count - failed, failed, firstError });
  };

  process.on('message', (message: ClientsRequest) => {
    switch (message.type) {
      case 'open':
        void open(message.setup);
        return;
      case 'window':
        window = { from: message.from, to: message.to };
        return;
      case 'snapshot':
        send({ type: 'snapshot', id: message.id, snapshot: snapshot() });
        return;
      case 'report': {
        // Sparse: only up to the last bucket in use, so the message stays small.
        let last = histogram.length - 1;
        while (last >= 0 && histogram[last] === 0) last--;
        send({
          type: 'report',
          id: message.id,
          report: {
            ...snapshot(),
            histogram: Array.from(histogram.subarray(0, last + 1)),
            overflow,
            windowReceived,
            receivedBySequence: Object.fromEntries(receivedBySequence),
            outOfOrder,
            closeReasons: Object.fromEntries(closeReasons),
            errorSamples,
          },
        });
        return;
      }
      case 'close':
        void Promise.all(clients.map((client) => client.dispose())).finally(() => {
          send({ type: 'closed' });
          process.exit(0);
        });
        return;
    }
  });
  // If the benchmark goes away, so do we.
  process.on('disconnect', () => process.exit(0));
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  const close = error as { code?: number; reason?: string };
  if (typeof close?.code === 'number') return `connection closed (${close.code}${close.reason ? `: ${close.reason}` : ''})`;
  return String(error);
}

main();
