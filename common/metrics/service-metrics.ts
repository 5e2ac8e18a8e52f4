// One service's Prometheus metrics: its own registry (the embedded mode runs every service in one process, so the
// global default registry would mix them), process metrics, HTTP requests and GraphQL errors.
import type { ApolloServerPlugin } from '@apollo/server';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Seconds; from a health check's fraction of a millisecond to a slow federated query. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One value of a metric read at scrape time: its labels and its value. */
export interface Reading<TLabel extends string> {
  labels: Partial<Record<TLabel, string>>;
  value: number;
}

export interface ScrapedMetric<TLabel extends string> {
  /** The full metric name, with its unit (`touchline_job_queue_depth`, `node_memory_used_bytes`). */
  name: string;
  help: string;
  labelNames?: readonly TLabel[];
  /** Called at each scrape; the gauge shows exactly what it returns (series it omits disappear). */
  read(): Promise<Reading<TLabel>[]> | Reading<TLabel>[];
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  private readonly httpDuration: Histogram<'route' | 'method' | 'status'>;
  private readonly graphqlErrors: Counter<'code'>;

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry, prefix: 'touchline_' });
    this.httpRequests = new Counter({
      name: 'touchline_http_requests_total',
      help: 'HTTP requests answered, by route, method and status code.',
      labelNames: ['route', 'method', 'status'],
      registers: [this.registry],
    });
    this.httpDuration = new Histogram({
      name: 'touchline_http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to the end of its response, by route, method and status code.',
      labelNames: ['route', 'method', 'status'],
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
    this.graphqlErrors = new Counter({
      name: 'touchline_graphql_errors_total',
      help: 'Errors in GraphQL responses, by extensions.code.',
      labelNames: ['code'],
      registers: [this.registry],
    });
  }

  /**
   * Records an answered request. `route` is the route that matched (`/graphql`, `/playground/`) or `unmatched`,
   * never the raw path, so that scanners cannot grow the number of series.
   */
  observeRequest(route: string, method: string, status: number, seconds: number): void {
    const labels = { route, method: KNOWN_METHODS.has(method) ? method : 'OTHER', status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  /** An Apollo Server plugin that counts the errors of every operation by code. */
  graphqlErrorsPlugin(): ApolloServerPlugin {
    const errors = this.graphqlErrors;
    return {
      requestDidStart: async () => ({
        didEncounterErrors: async ({ errors: encountered }) => {
          for (const error of encountered) {
            const code = error.extensions?.code;
            errors.inc({ code: typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR' });
          }
        },
      }),
    };
  }

  /** A counter in this service's registry. */
  counter<TLabel extends string>(name: string, help: string, labelNames: readonly TLabel[] = []): Counter<TLabel> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /**
   * A gauge whose values are read when Prometheus scrapes, from the database or from what a service holds: the
   * extension point for state that already lives elsewhere (jobs by state, connected nodes, and the latest node
   * and GPU samples under their conventional names such as `node_cpu_utilization` or `gpu_temperature_celsius`).
   */
  gaugeFromReadings<TLabel extends string>(gauge: ScrapedMetric<TLabel>): Gauge<TLabel> {
    return new Gauge<TLabel>({
      name: gauge.name,
      help: gauge.help,
      labelNames: gauge.labelNames ?? [],
      registers: [this.registry],
      async collect() {
        const readings = await gauge.read();
        this.reset();
        for (const reading of readings) this.set(reading.labels, reading.value);
      },
    });
  }

  /** A counter whose values are read when Prometheus scrapes, from totals a service already keeps since it started. */
  counterFromReadings<TLabel extends string>(counter: ScrapedMetric<TLabel>): Counter<TLabel> {
    return new Counter<TLabel>({
      name: counter.name,
      help: counter.help,
      labelNames: counter.labelNames ?? [],
      registers: [this.registry],
      async collect() {
        const readings = await counter.read();
        this.reset();
        for (const reading of readings) this.inc(reading.labels, reading.value);
      },
    });
  }

  /** The whole registry in the Prometheus text format. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * Runs `read` once for all callers that ask while it runs: several gauges of one scrape (jobs by state, queue depth)
 * share one query, and a scrape never reuses the figures of an earlier one.
 */
export function sharedWhileRunning<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () =>
    (running ??= read().finally(() => {
      running = undefined;
    }));
}
