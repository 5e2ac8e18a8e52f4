// Bad input to the registry: each gets a typed error naming the problem, and nothing is written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditEntry } from '../../common/audit/audit-entry.entity';
import { errorCode } from '../support/graphql';
import { startTestPlatform, type TestPlatform } from '../support/platform';

describe('bad input to the registry', () => {
  let touchline: TestPlatform;
  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite');
    await touchline.gql(`mutation { createModel(input: {name: "xg"}) { userErrors { message } } }`);
    await touchline.gql(`mutation { createModel(input: {name: "other"}) { userErrors { message } } }`);
    await touchline.gql(`mutation { registerModelVersion(input: {model: "xg", version: "1.0.0"}) { userErrors { message } } }`);
    await touchline.gql(`mutation { registerModelVersion(input: {model: "other", version: "1.0.0"}) { userErrors { message } } }`);
  });
  afterAll(() => touchline?.destroy());

  /** Row counts of every registry table: a rejected mutation must leave them all unchanged. */
  const tableCounts = async () => {
    const db = touchline.platform.subgraphs.find((subgraph) => subgraph.name === 'registry')!.db;
    const counts: Record<string, number> = {};
    for (const table of ['model', 'model_tag', 'model_version', 'model_alias', 'model_event', 'deployment_event']) {
      counts[table] = Number((await db.dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
    }
    return counts;
  };

  const rejected = async (mutation: string, input: Record<string, unknown>, expected: { field: string[]; code: string; message: RegExp }) => {
    const before = await tableCounts();
    const inputType = `${mutation[0]!.toUpperCase()}${mutation.slice(1)}Input`;
    const response = await touchline.gql(`mutation($input: ${inputType}!) { ${mutation}(input: $input) { userErrors { field message code } } }`, { input });
    expect(response.errors).toBeUndefined();
    const errors = response.data?.[mutation].userErrors;
    expect(errors).toContainEqual({ field: expected.field, code: expected.code, message: expect.stringMatching(expected.message) });
    expect(await tableCounts()).toEqual(before);
  };

  it.each([
    ['1.2', /not a semantic version/],
    ['v1.2.0', /not a semantic version/],
    ['1.2.0.0', /not a semantic version/],
    ['01.2.0', /not a semantic version/],
    ['', /not a semantic version/],
  ])('rejects the version "%s"', async (version, message) => {
    await rejected('registerModelVersion', { model: 'xg', version }, { field: ['input', 'version'], code: 'INVALID', message });
  });

  it('rejects a duplicate version', async () => {
    await rejected('registerModelVersion', { model: 'xg', version: '1.0.0' }, { field: ['input', 'version'], code: 'ALREADY_EXISTS', message: /already has a version 1.0.0/ });
  });

  it('rejects a version of an unknown model', async () => {
    await rejected('registerModelVersion', { model: 'nope', version: '1.0.0' }, { field: ['input', 'model'], code: 'NOT_FOUND', message: /No model named "nope"/ });
  });

  it.each([
    ['', 'REQUIRED', /must not be empty/],
    ['XG', 'INVALID', /not a valid name/],
    ['xg model', 'INVALID', /not a valid name/],
    ['-xg', 'INVALID', /not a valid name/],
    ['x'.repeat(64), 'TOO_LARGE', /at most 63/],
  ])('rejects the model name "%s"', async (name, code, message) => {
    await rejected('createModel', { name }, { field: ['input', 'name'], code, message });
  });

  it('rejects a duplicate model name', async () => {
    await rejected('createModel', { name: 'xg' }, { field: ['input', 'name'], code: 'ALREADY_EXISTS', message: /already exists/ });
  });

  it('rejects bad tags, sports and owners, naming each', async () => {
    await rejected('createModel', { name: 'fine', tags: ['ok', 'Not OK'] }, { field: ['input', 'tags', '1'], code: 'INVALID', message: /not a valid tag/ });
    await rejected('createModel', { name: 'fine', sport: 'Foot Ball' }, { field: ['input', 'sport'], code: 'INVALID', message: /not a valid name/ });
    await rejected('createModel', { name: 'fine', owner: 'o'.repeat(201) }, { field: ['input', 'owner'], code: 'TOO_LARGE', message: /at most 200/ });
  });

  it('rejects oversized and non-object JSON', async () => {
    const big = { blob: 'x'.repeat(70 * 1024) };
    await rejected('registerModelVersion', { model: 'xg', version: '2.0.0', metadata: big }, { field: ['input', 'metadata'], code: 'TOO_LARGE', message: /at most 65536 bytes/ });
    await rejected('registerModelVersion', { model: 'xg', version: '2.0.0', inputSchema: [1, 2] }, { field: ['input', 'inputSchema'], code: 'INVALID', message: /JSON object/ });
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) deep = { deeper: deep };
    await rejected('registerModelVersion', { model: 'xg', version: '2.0.0', outputSchema: deep }, { field: ['input', 'outputSchema'], code: 'TOO_LARGE', message: /nest deeper/ });
  });

  it('rejects impossible resources, bad images, commands and metrics', async () => {
    const base = { model: 'xg', version: '2.0.0' };
    await rejected('registerModelVersion', { ...base, resources: { cpuMillicores: -5 } }, { field: ['input', 'resources', 'cpuMillicores'], code: 'INVALID', message: /from 1 to/ });
    await rejected('registerModelVersion', { ...base, resources: { memoryMiB: 0 } }, { field: ['input', 'resources', 'memoryMiB'], code: 'INVALID', message: /from 1 to/ });
    await rejected('registerModelVersion', { ...base, resources: { gpuCount: 1000 } }, { field: ['input', 'resources', 'gpuCount'], code: 'INVALID', message: /from 0 to 64/ });
    await rejected('registerModelVersion', { ...base, resources: { gpuMemoryMiB: 4096 } }, { field: ['input', 'resources', 'gpuMemoryMiB'], code: 'INVALID', message: /without any GPU/ });
    await rejected('registerModelVersion', { ...base, image: 'Not An Image!' }, { field: ['input', 'image'], code: 'INVALID', message: /not a container image reference/ });
    await rejected('registerModelVersion', { ...base, command: [] }, { field: ['input', 'command'], code: 'INVALID', message: /from 1 to 256/ });
    await rejected('registerModelVersion', { ...base, trainingMetrics: [{ name: 'brier', value: 1 }, { name: 'brier', value: 2 }] }, {
      field: ['input', 'trainingMetrics', '1', 'name'], code: 'INVALID', message: /given twice/,
    });
    await rejected('registerModelVersion', { ...base, trainingMetrics: [{ name: 'has space', value: 1 }] }, {
      field: ['input', 'trainingMetrics', '0', 'name'], code: 'INVALID', message: /not a metric name/,
    });
  });

  it('rejects an alias on a version of another model, and unknown versions and aliases', async () => {
    const other = await touchline.gql(`{ modelVersion(model: "other", version: "1.0.0") { id } }`);
    await rejected('setModelAlias', { model: 'xg', alias: 'champion', versionId: other.data?.modelVersion.id }, {
      field: ['input', 'versionId'], code: 'CONFLICT', message: /belongs to another model/,
    });
    await rejected('setModelAlias', { model: 'xg', alias: 'champion', version: '9.9.9' }, { field: ['input', 'version'], code: 'NOT_FOUND', message: /no version 9.9.9/ });
    await rejected('setModelAlias', { model: 'xg', alias: 'latest', version: '1.0.0' }, { field: ['input', 'alias'], code: 'INVALID', message: /reserved/ });
    await rejected('setModelAlias', { model: 'xg', alias: 'Champion!', version: '1.0.0' }, { field: ['input', 'alias'], code: 'INVALID', message: /not a valid alias/ });
    await rejected('setModelAlias', { model: 'xg', alias: 'champion' }, { field: ['input', 'version'], code: 'REQUIRED', message: /exactly one/ });
    await rejected('deleteModelAlias', { model: 'xg', alias: 'ghost' }, { field: ['input', 'alias'], code: 'NOT_FOUND', message: /no alias "ghost"/ });
    await rejected('rollbackModel', { model: 'xg', alias: 'ghost' }, { field: ['input', 'alias'], code: 'CONFLICT', message: /never moved/ });
    await rejected('recordDeploymentEvent', { model: 'xg', version: '1.0.0', environment: 'Prod Env', action: 'DEPLOYED' }, {
      field: ['input', 'environment'], code: 'INVALID', message: /not a valid name/,
    });
  });

  it('answers wrong types and missing arguments with a GraphQL validation error, and keeps serving', async () => {
    const wrongType = await touchline.gql(`mutation { createModel(input: {name: 42}) { userErrors { message } } }`);
    expect(wrongType.status).toBe(400);
    expect(errorCode(wrongType)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(wrongType.errors?.[0]?.message).toMatch(/String cannot represent a non string value: 42/);

    const missing = await touchline.gql(`mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { userErrors { message } } }`, {
      input: { model: 'xg' },
    });
    expect(errorCode(missing)).toBe('BAD_USER_INPUT');
    expect(missing.errors?.[0]?.message).toMatch(/Field "version" of required type "String!" was not provided/);

    const badEnum = await touchline.gql(`{ models(filter: {task: GUESSING}) { nodes { name } } }`);
    expect(errorCode(badEnum)).toBe('GRAPHQL_VALIDATION_FAILED');

    const badPage = await touchline.gql(`{ models(first: 1000) { nodes { name } } }`);
    expect(errorCode(badPage)).toBe('BAD_USER_INPUT');
    expect(badPage.errors?.[0]?.message).toMatch(/first: must be between 1 and 100/);

    const badCursor = await touchline.gql(`{ models(after: "garbage") { nodes { name } } }`);
    expect(badCursor.errors?.[0]?.message).toMatch(/after: is not a cursor from this list/);

    const still = await touchline.gql(`{ model(name: "xg") { name } }`);
    expect(still.data?.model.name).toBe('xg');
  });

  it('records rejected mutations in the audit log, with the reason', async () => {
    const db = touchline.platform.subgraphs.find((subgraph) => subgraph.name === 'registry')!.db;
    const rejections = await db.manager.findBy(AuditEntry, { action: 'createModel', outcome: 'REJECTED' as AuditEntry['outcome'] });
    expect(rejections.length).toBeGreaterThan(0);
    expect(rejections.map((entry) => entry.detail)).toContainEqual(expect.stringMatching(/ALREADY_EXISTS at input.name/));
  });
});
