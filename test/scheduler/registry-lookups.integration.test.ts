// Jobs of a registry model version: the scheduler asks the registry what an exact version runs once (its artifact
// never changes), and an alias every time (aliases move).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBMIT } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';

describe('registry lookups of job submissions', () => {
  let touchline: TestPlatform;
  let registryQueries = 0;

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', { onQuery: (subgraph) => void (subgraph === 'registry' && registryQueries++) });
    await touchline.gql(`mutation { createModel(input: {name: "xg"}) { userErrors { message } } }`);
    for (const version of ['1.0.0', '1.1.0']) {
      await touchline.gql(`mutation($v: String!) { registerModelVersion(input: {model: "xg", version: $v, command: ["true"]}) { userErrors { message } } }`, { v: version });
    }
    await touchline.gql(`mutation { setModelAlias(input: {model: "xg", alias: "champion", version: "1.0.0"}) { userErrors { message } } }`);
  });
  afterAll(async () => {
    await touchline?.destroy();
  });

  const submit = async (modelVersion: Record<string, string>) => {
    const result = await touchline.gql(`mutation($input: SubmitJobInput!) { submitJob(input: $input) { job { modelVersion { version } } userErrors { message } } }`, {
      input: { modelVersion, nodeSelector: [{ key: 'pool', value: 'none' }] },
    });
    expect(result.data?.submitJob.userErrors).toEqual([]);
    return result.data?.submitJob.job.modelVersion.version as string;
  };

  it('asks the registry for an exact version once', async () => {
    expect(await submit({ model: 'xg', version: '1.1.0' })).toBe('1.1.0');
    // The answer's modelVersion field is read from the registry through the gateway: count only the lookup.
    await touchline.gql(SUBMIT.replace('job { id state runtime }', 'job { id }'), { input: { modelVersion: { model: 'xg', version: '1.1.0' }, nodeSelector: [{ key: 'pool', value: 'none' }] } });
    const before = registryQueries;
    await touchline.gql(SUBMIT.replace('job { id state runtime }', 'job { id }'), { input: { modelVersion: { model: 'xg', version: '1.1.0' }, nodeSelector: [{ key: 'pool', value: 'none' }] } });
    expect(registryQueries).toBe(before);
  });

  it('asks again for an alias, and follows it when it moves', async () => {
    expect(await submit({ model: 'xg', alias: 'champion' })).toBe('1.0.0');
    await touchline.gql(`mutation { setModelAlias(input: {model: "xg", alias: "champion", version: "1.1.0"}) { userErrors { message } } }`);
    expect(await submit({ model: 'xg', alias: 'champion' })).toBe('1.1.0');
  });
});
