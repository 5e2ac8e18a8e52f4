// The registry end to end through the gateway, on SQLite and on PostgreSQL: what a team does with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type DatabaseKind, type TestPlatform } from '../support/platform';

const MODEL_FIELDS = `
  id name description sport task owner tags createdBy
  latestVersion { version }
  productionVersion { version }
  aliases { name modelVersion { version } }
`;

describe.each<DatabaseKind>(['sqlite', 'postgres'])('registry on %s', (kind) => {
  let touchline: TestPlatform;
  beforeAll(async () => {
    touchline = await startTestPlatform(kind);
  });
  afterAll(() => touchline?.destroy());

  const createModel = (input: Record<string, unknown>) =>
    touchline.gql(`mutation($input: CreateModelInput!) { createModel(input: $input) { model { ${MODEL_FIELDS} } userErrors { field message code } } }`, { input });
  const register = (input: Record<string, unknown>) =>
    touchline.gql(
      `mutation($input: RegisterModelVersionInput!) {
        registerModelVersion(input: $input) {
          modelVersion { id version stage framework artifact { image command } resources { cpuMillicores memoryMiB gpuCount gpuMemoryMiB }
            inputSchema metadata trainingMetrics { name value } lineage { sourceRunId datasetRef } createdBy model { name } }
          userErrors { field message code }
        }
      }`,
      { input },
    );
  const setAlias = (input: Record<string, unknown>) =>
    touchline.gql(
      `mutation($input: SetModelAliasInput!) { setModelAlias(input: $input) { modelAlias { name } modelVersion { version aliases } userErrors { field message code } } }`,
      { input },
    );
  const rollback = (input: Record<string, unknown>) =>
    touchline.gql(`mutation($input: RollbackModelInput!) { rollbackModel(input: $input) { modelVersion { version stage } userErrors { field message code } } }`, { input });
  const transition = (input: Record<string, unknown>) =>
    touchline.gql(
      `mutation($input: TransitionModelVersionStageInput!) { transitionModelVersionStage(input: $input) { modelVersion { version stage } userErrors { message code } } }`,
      { input },
    );
  const championOf = async (model: string) =>
    (await touchline.gql(`query($model: String!) { modelVersion(model: $model, alias: "champion") { version } }`, { model })).data?.modelVersion?.version;

  it('creates a model with only a name, and with every descriptive field', async () => {
    const minimal = await createModel({ name: 'win-probability' });
    expect(minimal.errors).toBeUndefined();
    expect(minimal.data?.createModel).toMatchObject({
      model: { name: 'win-probability', description: null, sport: null, tags: [], latestVersion: null, aliases: [], createdBy: 'bootstrap admin' },
      userErrors: [],
    });

    const full = await createModel({
      name: 'xg',
      description: 'Expected goals from shot location, body part and situation',
      sport: 'football',
      task: 'CLASSIFICATION',
      owner: 'analytics-team',
      tags: ['shots', 'wyscout'],
    });
    expect(full.data?.createModel.model).toMatchObject({ name: 'xg', sport: 'football', task: 'CLASSIFICATION', owner: 'analytics-team', tags: ['shots', 'wyscout'] });
  });

  it('registers versions with their artifact, resources, schemas, metrics and lineage', async () => {
    const result = await register({
      model: 'xg',
      version: '1.0.0',
      image: 'registry.local/xg:1.0.0',
      framework: 'scikit-learn',
      resources: { cpuMillicores: 500, memoryMiB: 512 },
      inputSchema: { type: 'object', properties: { x: { type: 'number' } } },
      metadata: { features: ['distance', 'angle'] },
      trainingMetrics: [{ name: 'brier', value: 0.081 }, { name: 'log_loss', value: 0.29 }],
      lineage: { sourceRunId: 'run-42', datasetRef: 'wyscout-shots@2019' },
    });
    expect(result.data?.registerModelVersion).toEqual({
      modelVersion: expect.objectContaining({
        version: '1.0.0',
        stage: 'NONE',
        framework: 'scikit-learn',
        artifact: { image: 'registry.local/xg:1.0.0', command: null },
        resources: { cpuMillicores: 500, memoryMiB: 512, gpuCount: 0, gpuMemoryMiB: 0 },
        inputSchema: { type: 'object', properties: { x: { type: 'number' } } },
        metadata: { features: ['distance', 'angle'] },
        trainingMetrics: [{ name: 'brier', value: 0.081 }, { name: 'log_loss', value: 0.29 }],
        lineage: { sourceRunId: 'run-42', datasetRef: 'wyscout-shots@2019' },
        createdBy: 'bootstrap admin',
        model: { name: 'xg' },
      }),
      userErrors: [],
    });

    const minimal = await register({ model: 'xg', version: '1.1.0', command: ['python', 'score.py', '--model', 'xg'] });
    expect(minimal.data?.registerModelVersion.modelVersion).toMatchObject({
      version: '1.1.0',
      artifact: { image: null, command: ['python', 'score.py', '--model', 'xg'] },
      resources: { cpuMillicores: 1000, memoryMiB: 1024, gpuCount: 0, gpuMemoryMiB: 0 },
    });
    for (const version of ['1.2.0-rc.1', '1.10.0', '1.2.0', '0.9.0']) {
      expect((await register({ model: 'xg', version })).data?.registerModelVersion.userErrors).toEqual([]);
    }
  });

  it('orders versions by semver precedence and knows the latest release', async () => {
    const result = await touchline.gql(`{ model(name: "xg") { versions { totalCount nodes { version } } latestVersion { version } } }`);
    expect(result.data?.model.versions.nodes.map((v: { version: string }) => v.version)).toEqual([
      '1.10.0', '1.2.0', '1.2.0-rc.1', '1.1.0', '1.0.0', '0.9.0',
    ]);
    expect(result.data?.model.versions.totalCount).toBe(6);
    expect(result.data?.model.latestVersion.version).toBe('1.10.0');
    const latest = await touchline.gql(`{ modelVersion(model: "xg", alias: "latest") { version } }`);
    expect(latest.data?.modelVersion.version).toBe('1.10.0');
  });

  it('pages through versions with cursors, without gaps or repeats', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = await touchline.gql(
        `query($after: String) { model(name: "xg") { versions(first: 4, after: $after) { edges { cursor node { version } } pageInfo { hasNextPage endCursor } } } }`,
        { after },
      );
      const versions = page.data.model.versions;
      seen.push(...versions.edges.map((edge: { node: { version: string } }) => edge.node.version));
      if (!versions.pageInfo.hasNextPage) break;
      after = versions.pageInfo.endCursor;
    }
    expect(seen).toEqual(['1.10.0', '1.2.0', '1.2.0-rc.1', '1.1.0', '1.0.0', '0.9.0']);
  });

  it('finds a version by its version and by an alias; sets, moves and removes aliases', async () => {
    expect((await touchline.gql(`{ modelVersion(model: "xg", version: "1.1.0") { version } }`)).data?.modelVersion.version).toBe('1.1.0');
    expect((await touchline.gql(`{ modelVersion(model: "xg", version: "9.9.9") { version } }`)).data?.modelVersion).toBeNull();

    expect((await setAlias({ model: 'xg', alias: 'champion', version: '1.0.0' })).data?.setModelAlias).toMatchObject({
      modelAlias: { name: 'champion' },
      modelVersion: { version: '1.0.0', aliases: ['champion'] },
      userErrors: [],
    });
    expect(await championOf('xg')).toBe('1.0.0');

    await setAlias({ model: 'xg', alias: 'champion', version: '1.1.0' });
    await setAlias({ model: 'xg', alias: 'challenger', version: '1.2.0' });
    expect(await championOf('xg')).toBe('1.1.0');
    const model = await touchline.gql(`{ model(name: "xg") { aliases { name modelVersion { version } } } }`);
    expect(model.data?.model.aliases).toEqual([
      { name: 'challenger', modelVersion: { version: '1.2.0' } },
      { name: 'champion', modelVersion: { version: '1.1.0' } },
    ]);

    const removed = await touchline.gql(`mutation { deleteModelAlias(input: {model: "xg", alias: "challenger"}) { model { aliases { name } } userErrors { message } } }`);
    expect(removed.data?.deleteModelAlias).toEqual({ model: { aliases: [{ name: 'champion' }] }, userErrors: [] });
    expect((await touchline.gql(`{ modelVersion(model: "xg", alias: "challenger") { version } }`)).data?.modelVersion).toBeNull();
  });

  it('rolls an alias back one move at a time, and says when there is nothing left', async () => {
    await setAlias({ model: 'xg', alias: 'champion', version: '1.2.0' }); // 1.0.0 -> 1.1.0 -> 1.2.0
    expect((await rollback({ model: 'xg', alias: 'champion', reason: 'calibration drift' })).data?.rollbackModel.modelVersion.version).toBe('1.1.0');
    expect(await championOf('xg')).toBe('1.1.0');
    expect((await rollback({ model: 'xg', alias: 'champion' })).data?.rollbackModel.modelVersion.version).toBe('1.0.0');
    const nothing = await rollback({ model: 'xg', alias: 'champion' });
    expect(nothing.data?.rollbackModel).toMatchObject({ modelVersion: null, userErrors: [{ code: 'CONFLICT' }] });
    expect(await championOf('xg')).toBe('1.0.0');

    const history = await touchline.gql(
      `{ model(name: "xg") { history(first: 3) { nodes { kind alias fromVersion { version } toVersion { version } rollback reason actor } } } }`,
    );
    expect(history.data?.model.history.nodes).toEqual([
      { kind: 'ALIAS_MOVED', alias: 'champion', fromVersion: { version: '1.1.0' }, toVersion: { version: '1.0.0' }, rollback: true, reason: 'rollback', actor: 'bootstrap admin' },
      { kind: 'ALIAS_MOVED', alias: 'champion', fromVersion: { version: '1.2.0' }, toVersion: { version: '1.1.0' }, rollback: true, reason: 'calibration drift', actor: 'bootstrap admin' },
      { kind: 'ALIAS_MOVED', alias: 'champion', fromVersion: { version: '1.1.0' }, toVersion: { version: '1.2.0' }, rollback: false, reason: null, actor: 'bootstrap admin' },
    ]);
  });

  it('keeps one version in production, archives the one it replaces, and rolls production back', async () => {
    expect((await transition({ model: 'xg', version: '1.0.0', stage: 'STAGING' })).data?.transitionModelVersionStage.modelVersion.stage).toBe('STAGING');
    await transition({ model: 'xg', version: '1.0.0', stage: 'PRODUCTION', reason: 'backtest passed' });
    await transition({ model: 'xg', version: '1.1.0', stage: 'PRODUCTION' });
    await transition({ model: 'xg', version: '1.2.0', stage: 'PRODUCTION' });

    const stages = async () =>
      Object.fromEntries(
        (await touchline.gql(`{ model(name: "xg") { versions(first: 10) { nodes { version stage } } } }`)).data?.model.versions.nodes.map(
          (v: { version: string; stage: string }) => [v.version, v.stage],
        ),
      );
    expect(await stages()).toMatchObject({ '1.0.0': 'ARCHIVED', '1.1.0': 'ARCHIVED', '1.2.0': 'PRODUCTION' });

    expect((await rollback({ model: 'xg' })).data?.rollbackModel.modelVersion).toEqual({ version: '1.1.0', stage: 'PRODUCTION' });
    expect(await stages()).toMatchObject({ '1.0.0': 'ARCHIVED', '1.1.0': 'PRODUCTION', '1.2.0': 'ARCHIVED' });
    expect((await rollback({ model: 'xg' })).data?.rollbackModel.modelVersion).toEqual({ version: '1.0.0', stage: 'PRODUCTION' });
    expect((await rollback({ model: 'xg' })).data?.rollbackModel.userErrors[0].code).toBe('CONFLICT');

    const production = await touchline.gql(`{ model(name: "xg") { productionVersion { version } } modelVersions(filter: {stage: PRODUCTION}) { nodes { version model { name } } } }`);
    expect(production.data?.model.productionVersion.version).toBe('1.0.0');
    expect(production.data?.modelVersions.nodes).toEqual([{ version: '1.0.0', model: { name: 'xg' } }]);

    const versionHistory = await touchline.gql(`{ modelVersion(model: "xg", version: "1.2.0") { history { nodes { kind fromStage toStage rollback reason } } } }`);
    expect(versionHistory.data?.modelVersion.history.nodes[0]).toEqual({
      kind: 'STAGE_CHANGED', fromStage: 'PRODUCTION', toStage: 'ARCHIVED', rollback: true, reason: 'replaced in production by 1.1.0',
    });
  });

  it('records deployments and lists them per model and per version, newest first', async () => {
    const record = (version: string, environment: string, action: string) =>
      touchline.gql(
        `mutation($input: RecordDeploymentEventInput!) { recordDeploymentEvent(input: $input) { deploymentEvent { environment action actor modelVersion { version } details } userErrors { message } } }`,
        { input: { model: 'xg', version, environment, action, details: { replicas: 2 } } },
      );
    expect((await record('1.0.0', 'production', 'DEPLOYED')).data?.recordDeploymentEvent).toEqual({
      deploymentEvent: { environment: 'production', action: 'DEPLOYED', actor: 'bootstrap admin', modelVersion: { version: '1.0.0' }, details: { replicas: 2 } },
      userErrors: [],
    });
    await record('1.1.0', 'staging', 'DEPLOYED');
    await record('1.0.0', 'production', 'SCALED');

    const result = await touchline.gql(`{
      model(name: "xg") { deployments { nodes { action environment modelVersion { version } } } production: deployments(environment: "production") { totalCount } }
      modelVersion(model: "xg", version: "1.1.0") { deployments { nodes { action environment } } }
    }`);
    expect(result.data?.model.deployments.nodes).toEqual([
      { action: 'SCALED', environment: 'production', modelVersion: { version: '1.0.0' } },
      { action: 'DEPLOYED', environment: 'staging', modelVersion: { version: '1.1.0' } },
      { action: 'DEPLOYED', environment: 'production', modelVersion: { version: '1.0.0' } },
    ]);
    expect(result.data?.model.production.totalCount).toBe(2);
    expect(result.data?.modelVersion.deployments.nodes).toEqual([{ action: 'DEPLOYED', environment: 'staging' }]);
  });

  it('updates a model and a version\'s mutable fields', async () => {
    const model = await touchline.gql(
      `mutation { updateModel(input: {name: "win-probability", sport: "football", tags: ["matches"], description: "Home/draw/away"}) { model { sport tags description } userErrors { message } } }`,
    );
    expect(model.data?.updateModel).toEqual({ model: { sport: 'football', tags: ['matches'], description: 'Home/draw/away' }, userErrors: [] });
    const cleared = await touchline.gql(`mutation { updateModel(input: {name: "win-probability", description: null}) { model { sport description } } }`);
    expect(cleared.data?.updateModel.model).toEqual({ sport: 'football', description: null });

    const version = await touchline.gql(
      `mutation { updateModelVersion(input: {model: "xg", version: "1.0.0", description: "first", trainingMetrics: [{name: "auc", value: 0.78}, {name: "brier", value: 0.08}]}) {
        modelVersion { description trainingMetrics { name value } } userErrors { message } } }`,
    );
    expect(version.data?.updateModelVersion.modelVersion).toEqual({
      description: 'first',
      trainingMetrics: [{ name: 'auc', value: 0.78 }, { name: 'brier', value: 0.08 }, { name: 'log_loss', value: 0.29 }],
    });
  });

  it('lists models with filters by name prefix, sport, tag and task, in name order', async () => {
    await createModel({ name: 'player-load', sport: 'basketball', task: 'REGRESSION', tags: ['tracking'] });
    await createModel({ name: 'xg-women', sport: 'football', task: 'CLASSIFICATION', tags: ['shots'] });
    const names = async (filter: Record<string, unknown>) =>
      (await touchline.gql(`query($filter: ModelFilter) { models(filter: $filter) { nodes { name } } }`, { filter })).data?.models.nodes.map(
        (m: { name: string }) => m.name,
      );
    expect(await names({})).toEqual(['player-load', 'win-probability', 'xg', 'xg-women']);
    expect(await names({ namePrefix: 'xg' })).toEqual(['xg', 'xg-women']);
    expect(await names({ sport: 'football' })).toEqual(['win-probability', 'xg', 'xg-women']);
    expect(await names({ tag: 'shots' })).toEqual(['xg', 'xg-women']);
    expect(await names({ task: 'REGRESSION' })).toEqual(['player-load']);
    expect(await names({ sport: 'football', tag: 'matches' })).toEqual(['win-probability']);
  });

  it('keeps everything across a restart of all services', async () => {
    await touchline.restart();
    const result = await touchline.gql(`{ model(name: "xg") { ${MODEL_FIELDS} versions { totalCount } } }`);
    expect(result.data?.model).toMatchObject({
      name: 'xg',
      tags: ['shots', 'wyscout'],
      productionVersion: { version: '1.0.0' },
      aliases: [{ name: 'champion', modelVersion: { version: '1.0.0' } }],
      versions: { totalCount: 6 },
    });
  });
});
