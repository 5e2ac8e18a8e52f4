// Live composition: the gateway waits for subgraphs that are not up yet, and recomposes only when a schema changes.
import { afterEach, expect, it, vi } from 'vitest';
import { silentLogger } from '../../common/logger';
import { CompositionError, composeSupergraph, liveSupergraph, type SdlSource } from '../../gateway/supergraph';

const subgraph = (fields: string) => `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query { ${fields} }
`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

function start(sources: SdlSource[], pollMs: number, onWaiting?: (names: string[]) => void) {
  const update = vi.fn<(sdl: string) => void>();
  const hook = liveSupergraph({ sources, logger: silentLogger, pollMs, onWaiting });
  const loaded = hook({ update, healthCheck: async () => undefined, getDataSource: () => undefined as never }).then((result) => {
    cleanups.push(async () => result.cleanup?.());
    return result.supergraphSdl;
  });
  return { update, loaded };
}

it('waits for a subgraph that does not answer yet, saying which, then composes', async () => {
  let attempts = 0;
  const waiting: string[][] = [];
  const registry: SdlSource = {
    name: 'registry',
    url: 'http://127.0.0.1:1/graphql',
    load: async () => {
      if (++attempts < 3) throw new Error('connect ECONNREFUSED');
      return subgraph('models: Int');
    },
  };
  const { loaded } = start([registry], 0, (names) => waiting.push(names));
  expect(await loaded).toContain('models: Int');
  expect(attempts).toBe(3);
  expect(waiting).toEqual([['registry'], ['registry'], []]);
});

it('recomposes when a subgraph schema changes, and not while it stays the same', async () => {
  let fields = 'models: Int';
  const loads = vi.fn(async () => subgraph(fields));
  const { update, loaded } = start([{ name: 'registry', url: 'http://127.0.0.1:1/graphql', load: loads }], 20);
  expect(await loaded).not.toContain('versions');

  await vi.waitFor(() => expect(loads.mock.calls.length).toBeGreaterThanOrEqual(4));
  expect(update).not.toHaveBeenCalled();

  fields = 'models: Int versions: Int';
  await vi.waitFor(() => expect(update).toHaveBeenCalledTimes(1));
  expect(update.mock.calls[0]![0]).toContain('versions: Int');
  const after = loads.mock.calls.length;
  await vi.waitFor(() => expect(loads.mock.calls.length).toBeGreaterThan(after + 2));
  expect(update).toHaveBeenCalledTimes(1);
});

it('names every problem when subgraphs do not compose', () => {
  const clash = [
    { name: 'a', url: 'http://a/graphql', sdl: subgraph('total: Int') },
    { name: 'b', url: 'http://b/graphql', sdl: subgraph('total: String') },
  ];
  expect(() => composeSupergraph(clash)).toThrow(CompositionError);
  expect(() => composeSupergraph(clash)).toThrow(/Query.total/);
});
