// Concurrent writers on PostgreSQL: racing mutations never create duplicates, never leave two versions in
// production, and keep the history of an alias a consistent chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../support/platform';

describe('concurrent mutations on PostgreSQL', () => {
  let touchline: TestPlatform;
  beforeAll(async () => {
    touchline = await startTestPlatform('postgres');
    await touchline.gql(`mutation { createModel(input: {name: "xg"}) { userErrors { message } } }`);
    for (let v = 0; v < 8; v++) {
      await touchline.gql(`mutation($v: String!) { registerModelVersion(input: {model: "xg", version: $v}) { userErrors { message } } }`, { v: `1.${v}.0` });
    }
  });
  afterAll(() => touchline?.destroy());

  const together = <T>(count: number, run: (index: number) => Promise<T>) => Promise.all(Array.from({ length: count }, (_, index) => run(index)));

  it('creates a model once when ten clients create it at the same moment', async () => {
    const results = await together(10, () =>
      touchline.gql(`mutation { createModel(input: {name: "win-probability"}) { model { id } userErrors { code } } }`),
    );
    const created = results.filter((result) => result.data?.createModel.model);
    const refused = results.filter((result) => result.data?.createModel.userErrors[0]?.code === 'ALREADY_EXISTS');
    expect(results.every((result) => result.errors === undefined)).toBe(true);
    expect(created).toHaveLength(1);
    expect(refused).toHaveLength(9);
  });

  it('registers a version once when ten clients register it at the same moment', async () => {
    const results = await together(10, () =>
      touchline.gql(`mutation { registerModelVersion(input: {model: "xg", version: "2.0.0"}) { modelVersion { id } userErrors { code } } }`),
    );
    expect(results.filter((result) => result.data?.registerModelVersion.modelVersion)).toHaveLength(1);
    expect(results.filter((result) => result.data?.registerModelVersion.userErrors[0]?.code === 'ALREADY_EXISTS')).toHaveLength(9);
  });

  it('leaves exactly one version in production when eight are promoted at once', async () => {
    await together(8, (v) =>
      touchline.gql(`mutation($v: String!) { transitionModelVersionStage(input: {model: "xg", version: $v, stage: PRODUCTION}) { userErrors { message } } }`, {
        v: `1.${v}.0`,
      }),
    );
    const versions = await touchline.gql(`{ modelVersions(filter: {model: "xg", stage: PRODUCTION}) { totalCount } model(name: "xg") { productionVersion { version } } }`);
    expect(versions.data?.modelVersions.totalCount).toBe(1);
    // Rolling back walks the promotions in the order they were serialized, ending with nothing before the first.
    let rollbacks = 0;
    while ((await touchline.gql(`mutation { rollbackModel(input: {model: "xg"}) { modelVersion { version } } }`)).data?.rollbackModel.modelVersion) rollbacks++;
    expect(rollbacks).toBe(7);
  });

  it('keeps an alias history a chain when eight clients move it at once', async () => {
    await together(8, (v) =>
      touchline.gql(`mutation($v: String!) { setModelAlias(input: {model: "xg", alias: "champion", version: $v}) { userErrors { message } } }`, { v: `1.${v}.0` }),
    );
    const result = await touchline.gql(
      `{ model(name: "xg") { aliases { name modelVersion { version } } history(first: 100) { nodes { kind alias fromVersion { version } toVersion { version } } } } }`,
    );
    const moves = result.data?.model.history.nodes.filter((event: { kind: string }) => event.kind === 'ALIAS_MOVED').reverse();
    expect(moves).toHaveLength(8);
    expect(moves[0].fromVersion).toBeNull();
    for (let i = 1; i < moves.length; i++) expect(moves[i].fromVersion).toEqual(moves[i - 1].toVersion);
    expect(result.data?.model.aliases).toEqual([{ name: 'champion', modelVersion: moves.at(-1).toVersion }]);
  });
});
