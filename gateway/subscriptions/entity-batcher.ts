// Entity fetches of subscription events, batched across events. Completing an event asks a subgraph for the
// entities it references (`_entities(representations: ...)`), one request per event; at a thousand events a second
// that would be a thousand requests. While a request for the same operation is in flight, the next ones wait and
// then go together, each representation once, and each event gets its own slice of the answer: under load the
// batches grow by themselves, and an idle stream pays no delay.
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GraphQLFormattedError } from 'graphql';

type Response = Awaited<ReturnType<GraphQLDataSource['process']>>;

interface Waiting {
  options: GraphQLDataSourceProcessOptions;
  representations: unknown[];
  resolve(response: Response): void;
  reject(error: unknown): void;
}

interface Lane {
  waiting: Waiting[];
  inFlight: number;
}

/** How many batches of one operation may be in flight at once: one, so that whatever comes meanwhile waits and joins. */
const MAX_IN_FLIGHT = 1;
/** The most representations sent in one request. */
const MAX_BATCH = 500;

export class EntityBatcher implements GraphQLDataSource {
  private readonly lanes = new Map<string, Lane>();
  /** Requests actually sent to the subgraph (for the benchmark and logs). */
  requests = 0;

  constructor(private readonly source: GraphQLDataSource) {}

  process(options: GraphQLDataSourceProcessOptions): Promise<Response> {
    // (The request kinds are an enum @apollo/gateway does not export: compare with its value.)
    const variables = (options.kind as string) === 'incoming operation' ? options.request.variables : undefined;
    const representations = variables?.representations;
    if (!Array.isArray(representations)) {
      this.requests += 1;
      return this.source.process(options);
    }
    // Only requests that differ in nothing but their representations can share one: same operation, same other
    // variables, same caller's rights.
    const { representations: _, ...others } = variables!;
    const identity = (options.context as { identity?: { role?: string; kind?: string; id?: string } }).identity;
    const audience = identity?.kind === 'node' ? `node:${identity.id}` : (identity?.role ?? '');
    const key = JSON.stringify([options.request.query, others, audience]);
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { waiting: [], inFlight: 0 }));
    const promise = new Promise<Response>((resolve, reject) => lane.waiting.push({ options, representations, resolve, reject }));
    this.pump(key, lane);
    return promise;
  }

  private pump(key: string, lane: Lane): void {
    while (lane.inFlight < MAX_IN_FLIGHT && lane.waiting.length > 0) {
      const batch: Waiting[] = [];
      let size = 0;
      while (lane.waiting.length > 0 && (batch.length === 0 || size + lane.waiting[0]!.representations.length <= MAX_BATCH)) {
        const next = lane.waiting.shift()!;
        size += next.representations.length;
        batch.push(next);
      }
      lane.inFlight += 1;
      void this.send(batch).finally(() => {
        lane.inFlight -= 1;
        if (lane.inFlight === 0 && lane.waiting.length === 0) this.lanes.delete(key);
        else this.pump(key, lane);
      });
    }
  }

  private async send(batch: Waiting[]): Promise<void> {
    // Each distinct representation once; each caller's positions in the combined list.
    const unique: unknown[] = [];
    const indexOf = new Map<string, number>();
    const positions = batch.map((waiting) =>
      waiting.representations.map((representation) => {
        const text = JSON.stringify(representation);
        let index = indexOf.get(text);
        if (index === undefined) {
          index = unique.push(representation) - 1;
          indexOf.set(text, index);
        }
        return index;
      }),
    );
    const first = batch[0]!.options;
    try {
      this.requests += 1;
      const response = await this.source.process({
        ...first,
        request: { ...first.request, variables: { ...first.request.variables, representations: unique } },
      } as GraphQLDataSourceProcessOptions);
      const entities = (response.data as { _entities?: unknown[] } | null | undefined)?._entities;
      batch.forEach((waiting, b) => {
        const mine = positions[b]!;
        waiting.resolve({
          ...response,
          data: Array.isArray(entities) ? { _entities: mine.map((index) => entities[index] ?? null) } : response.data,
          errors: errorsFor(response.errors, mine),
        });
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}

/** The errors that concern a caller's entities (by their path), renumbered as in its own list; the rest go to all. */
function errorsFor(errors: readonly GraphQLFormattedError[] | undefined, mine: number[]): GraphQLFormattedError[] | undefined {
  if (!errors) return undefined;
  const kept: GraphQLFormattedError[] = [];
  for (const error of errors) {
    const [root, index, ...rest] = error.path ?? [];
    if (root !== '_entities' || typeof index !== 'number') {
      kept.push(error);
      continue;
    }
    mine.forEach((position, own) => {
      if (position === index) kept.push({ ...error, path: ['_entities', own, ...rest] });
    });
  }
  return kept.length > 0 ? kept : undefined;
}
