// The supergraph: composed from the subgraphs' SDL, either live (fetched from the running subgraphs, with
// retries while they start, and polled for changes) or ahead of time into a file that production can pin.
import fs from 'node:fs';
import { composeServices } from '@apollo/composition';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { parse } from 'graphql';
import type { Logger } from '../common/logger';
import { signingFetch } from '../common/http/signed-fetch';

export interface SubgraphSdl {
  name: string;
  url: string;
  sdl: string;
}

export class CompositionError extends Error {
  constructor(readonly problems: string[]) {
    super(`The subgraphs do not compose:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

export function composeSupergraph(subgraphs: SubgraphSdl[]): string {
  const result = composeServices(subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) })));
  if (result.errors) throw new CompositionError(result.errors.map((error) => error.message));
  return result.supergraphSdl;
}

export function readSupergraphFile(file: string): string {
  try {
    const sdl = fs.readFileSync(file, 'utf8');
    parse(sdl);
    return sdl;
  } catch (error) {
    throw new Error(`Cannot use the supergraph file ${file} (TOUCHLINE_SUPERGRAPH_FILE): ${(error as Error).message}`, { cause: error });
  }
}

/** Where a subgraph's SDL comes from: a running subgraph (over HTTP), or a schema in this process. */
export interface SdlSource {
  name: string;
  url: string;
  load(): Promise<string>;
}

export function remoteSdl(name: string, url: string, secret: string): SdlSource {
  const signedFetch = signingFetch(secret);
  return {
    name,
    url,
    async load() {
      const response = await signedFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ _service { sdl } }' }),
        timeout: 5_000,
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
      const body = (await response.json()) as { data?: { _service?: { sdl?: string } }; errors?: { message: string }[] };
      const sdl = body.data?._service?.sdl;
      if (!sdl) throw new Error(body.errors?.map((error) => error.message).join('; ') ?? 'no SDL in the answer');
      return sdl;
    },
  };
}

export interface LiveSupergraphOptions {
  sources: SdlSource[];
  logger: Logger;
  /** How often to look for changed subgraph schemas; 0 turns it off. */
  pollMs: number;
  /** Reports the subgraphs still awaited, for readiness checks. */
  onWaiting?: (names: string[]) => void;
}

/** A gateway `supergraphSdl` hook that composes from running subgraphs and keeps the result current. */
export function liveSupergraph(options: LiveSupergraphOptions): SupergraphSdlHook {
  const { sources, logger } = options;
  return async ({ update }) => {
    let composedFrom = await loadAllWhenTheyAnswer(options);
    let timer: NodeJS.Timeout | undefined;
    if (options.pollMs > 0) {
      timer = setInterval(() => {
        loadAll(sources)
          .then(({ loaded, failed }) => {
            // Composing blocks the event loop for about 100 ms: only when a subgraph's schema really changed.
            if (failed.length > 0 || sameSchemas(loaded, composedFrom)) return;
            const next = composeSupergraph(loaded);
            composedFrom = loaded;
            update(next);
            logger.info('a subgraph schema changed: recomposed the supergraph');
          })
          .catch((error: unknown) => logger.warn({ err: error }, 'could not recompose the supergraph; keeping the current one'));
      }, options.pollMs);
      timer.unref();
    }
    return { supergraphSdl: composeSupergraph(composedFrom), cleanup: async () => clearInterval(timer) };
  };
}

function sameSchemas(a: SubgraphSdl[], b: SubgraphSdl[]): boolean {
  return a.length === b.length && a.every((subgraph, index) => subgraph.sdl === b[index]!.sdl && subgraph.url === b[index]!.url);
}

async function loadAllWhenTheyAnswer(options: LiveSupergraphOptions): Promise<SubgraphSdl[]> {
  for (let attempt = 1; ; attempt++) {
    const { loaded, failed } = await loadAll(options.sources);
    options.onWaiting?.(failed.map((failure) => failure.name));
    if (failed.length === 0) return loaded;
    const delay = Math.min(200 * 2 ** (attempt - 1), 5_000);
    for (const failure of failed) {
      options.logger[attempt < 3 ? 'debug' : 'warn'](
        { subgraph: failure.name, url: failure.url, attempt, reason: failure.reason },
        `waiting for the ${failure.name} subgraph; retrying in ${delay} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

async function loadAll(sources: SdlSource[]) {
  const results = await Promise.all(
    sources.map(async (source) => {
      try {
        return { ok: true as const, sdl: { name: source.name, url: source.url, sdl: await source.load() } };
      } catch (error) {
        return { ok: false as const, failure: { name: source.name, url: source.url, reason: (error as Error).message } };
      }
    }),
  );
  return {
    loaded: results.flatMap((result) => (result.ok ? [result.sdl] : [])),
    failed: results.flatMap((result) => (result.ok ? [] : [result.failure])),
  };
}
