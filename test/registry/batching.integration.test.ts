// The N+1 proof: a page of N versions with their models costs a fixed number of SQL queries, one per entity
// type, however large N is, through the gateway and through federation's entity lookups.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../common/auth/identity';
import { signedHeaders } from '../../common/auth/request-signature';
import { INTERNAL_SECRET, startTestPlatform, type TestPlatform } from '../support/platform';

describe('batching', () => {
  let touchline: TestPlatform;
  let statements: string[] = [];
  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', {
      onQuery: (subgraph, sql) => {
        if (subgraph === 'registry') statements.push(sql);
      },
    });
    for (let m = 0; m < 10; m++) {
      await touchline.gql(`mutation($name: String!) { createModel(input: {name: $name, tags: ["a", "b"]}) { userErrors { message } } }`, { name: `model-${m}` });
      for (let v = 0; v < 4; v++) {
        await touchline.gql(`mutation($m: String!, $v: String!) { registerModelVersion(input: {model: $m, version: $v}) { userErrors { message } } }`, {
          m: `model-${m}`,
          v: `1.${v}.0`,
        });
      }
      await touchline.gql(`mutation($m: String!) { setModelAlias(input: {model: $m, alias: "champion", version: "1.1.0"}) { userErrors { message } } }`, { m: `model-${m}` });
    }
  });
  afterAll(() => touchline?.destroy());

  /** SELECTs per table while `work` runs. */
  async function selectsPerTable(work: () => Promise<unknown>): Promise<Record<string, number>> {
    statements = [];
    await work();
    const counts: Record<string, number> = {};
    for (const sql of statements.filter((statement) => /^\s*SELECT/i.test(statement))) {
      const table = /FROM\s+(?:"\w+"\.)?"(\w+)"/i.exec(sql)?.[1] ?? 'unknown';
      counts[table] = (counts[table] ?? 0) + 1;
    }
    return counts;
  }

  const page = (first: number) => async () => {
    const result = await touchline.gql(
      `query($first: Int!) { modelVersions(first: $first) { nodes { version aliases
        model { name tags aliases { name } latestVersion { version } productionVersion { version } } } } }`,
      { first },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?.modelVersions.nodes).toHaveLength(first);
  };

  it('costs one query per entity type for a page of versions with their models, whatever the page size', async () => {
    const small = await selectsPerTable(page(4));
    const large = await selectsPerTable(page(40));
    expect(large).toEqual(small);
    expect(large.model).toBe(1);
    expect(large.model_tag).toBe(1);
    // the page itself, the latest versions and the production versions
    expect(large.model_version).toBe(3);
    // aliases of the versions, aliases of the models
    expect(large.model_alias).toBe(2);
  });

  it('resolves a batch of entity references from another subgraph in one query', async () => {
    const ids: string[] = (await touchline.gql(`{ modelVersions(first: 40) { nodes { id } } }`)).data?.modelVersions.nodes.map((n: { id: string }) => n.id);
    const body = JSON.stringify({
      query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on ModelVersion { version model { name } } } }',
      variables: { r: ids.map((id) => ({ __typename: 'ModelVersion', id })) },
    });
    const gateway: Identity = { kind: 'service', id: 'gateway', name: 'gateway', role: 'viewer' };
    const counts = await selectsPerTable(async () => {
      const response = await fetch(touchline.subgraphUrl('registry'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signedHeaders(INTERNAL_SECRET, gateway, { method: 'POST', path: '/graphql', body }) },
        body,
      });
      const result = (await response.json()) as { data: { _entities: unknown[] } };
      expect(result.data._entities).toHaveLength(40);
    });
    expect(counts).toEqual({ model_version: 1, model: 1 });
  });
});
