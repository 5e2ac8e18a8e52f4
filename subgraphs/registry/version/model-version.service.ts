// The rules of model versions: registering, updating, stage transitions, finding and listing.
import type { EntityManager } from 'typeorm';
import type { Identity } from '../../../common/auth/identity';
import { newId } from '../../../common/db/ids';
import { paginate, type ConnectionShape, type PageArgs } from '../../../common/graphql/connection';
import { reject, succeed, userError, UserErrorCode, type Outcome } from '../../../common/graphql/types';
import { InputCheck } from '../../../common/validation';
import { recordStageChange, recordVersionRegistered } from '../history/model-history';
import { Model } from '../model/model.entity';
import { findModelForUpdate, modelNotFound } from '../model/model.service';
import { ModelStage, ModelVersion } from './model-version.entity';
import {
  checkArtifact,
  checkLineage,
  checkMetrics,
  checkResources,
  DEFAULT_RESOURCES,
  JSON_LIMIT,
  type ModelVersionFilter,
  type RegisterModelVersionInput,
  type TrainingMetricInput,
  type TransitionModelVersionStageInput,
  type UpdateModelVersionInput,
} from './model-version.inputs';
import { parseSemVer, semverSortKey } from './semver';

export async function registerModelVersion(
  em: EntityManager,
  input: RegisterModelVersionInput,
  actor: Identity,
): Promise<Outcome<{ modelVersion: ModelVersion }>> {
  const check = new InputCheck();
  const semver = parseSemVer(input.version);
  if (!semver) {
    check.fail('version', `"${input.version.slice(0, 140)}" is not a semantic version: use MAJOR.MINOR.PATCH such as 1.2.0 or 2.0.0-rc.1`);
  }
  check.text('description', input.description, 10_000);
  checkArtifact(check, input);
  checkResources(check, input.resources);
  check.jsonObject('inputSchema', input.inputSchema, JSON_LIMIT);
  check.jsonObject('outputSchema', input.outputSchema, JSON_LIMIT);
  check.jsonObject('metadata', input.metadata, JSON_LIMIT);
  checkMetrics(check, input.trainingMetrics);
  checkLineage(check, input.lineage);
  if (!check.ok || !semver) return reject(...check.errors);

  const model = await em.findOneBy(Model, { name: input.model });
  if (!model) return reject(modelNotFound(input.model));
  if (await em.existsBy(ModelVersion, { modelId: model.id, version: input.version })) {
    return reject(userError('version', `${input.model} already has a version ${input.version}`, UserErrorCode.ALREADY_EXISTS));
  }

  const resources = input.resources ?? {};
  const now = new Date();
  const modelVersion = em.create(ModelVersion, {
    id: newId(),
    modelId: model.id,
    version: input.version,
    sortKey: semverSortKey(semver),
    isPrerelease: semver.prerelease.length > 0,
    description: input.description ?? null,
    image: input.image ?? null,
    command: input.command ?? null,
    framework: input.framework ?? null,
    cpuMillicores: resources.cpuMillicores ?? DEFAULT_RESOURCES.cpuMillicores,
    memoryMib: resources.memoryMiB ?? DEFAULT_RESOURCES.memoryMiB,
    gpuCount: resources.gpuCount ?? DEFAULT_RESOURCES.gpuCount,
    gpuMemoryMib: resources.gpuMemoryMiB ?? DEFAULT_RESOURCES.gpuMemoryMiB,
    inputSchema: (input.inputSchema as object | null | undefined) ?? null,
    outputSchema: (input.outputSchema as object | null | undefined) ?? null,
    metadata: (input.metadata as object | null | undefined) ?? null,
    trainingMetrics: metricMap(input.trainingMetrics ?? []),
    sourceJobId: input.lineage?.sourceJobId ?? null,
    sourceRunId: input.lineage?.sourceRunId ?? null,
    datasetRef: input.lineage?.datasetRef ?? null,
    stage: ModelStage.NONE,
    createdBy: actor.name,
    createdAt: now,
  });
  await em.insert(ModelVersion, modelVersion);
  await em.update(Model, { id: model.id }, { updatedAt: now });
  recordVersionRegistered(em, modelVersion, actor);
  return succeed({ modelVersion });
}

export async function updateModelVersion(em: EntityManager, input: UpdateModelVersionInput): Promise<Outcome<{ modelVersion: ModelVersion }>> {
  const check = new InputCheck();
  check.text('description', input.description, 10_000);
  check.jsonObject('metadata', input.metadata, JSON_LIMIT);
  checkMetrics(check, input.trainingMetrics);
  if (!check.ok) return reject(...check.errors);

  const found = await findVersion(em, input.model, input.version);
  if (found.userErrors) return found;
  const modelVersion = found.value;
  if (input.description !== undefined) modelVersion.description = input.description;
  if (input.metadata !== undefined) modelVersion.metadata = (input.metadata as object | null) ?? null;
  if (input.trainingMetrics) {
    modelVersion.trainingMetrics = { ...modelVersion.trainingMetrics, ...metricMap(input.trainingMetrics) };
    if (Object.keys(modelVersion.trainingMetrics).length > 200) {
      return reject(userError('trainingMetrics', 'a version holds at most 200 metrics', UserErrorCode.TOO_LARGE));
    }
  }
  await em.save(ModelVersion, modelVersion);
  return succeed({ modelVersion });
}

export async function transitionStage(
  em: EntityManager,
  input: TransitionModelVersionStageInput,
  actor: Identity,
): Promise<Outcome<{ modelVersion: ModelVersion }>> {
  const check = new InputCheck();
  check.text('reason', input.reason, 1000);
  if (!check.ok) return reject(...check.errors);

  const model = await findModelForUpdate(em, input.model);
  if (model.userErrors) return model;
  const modelVersion = await em.findOneBy(ModelVersion, { modelId: model.value.id, version: input.version });
  if (!modelVersion) return reject(versionNotFound(input.model, input.version));
  await moveToStage(em, modelVersion, input.stage, { reason: input.reason, rollback: false }, actor);
  return succeed({ modelVersion });
}

/**
 * Moves a version to a stage and records it. Entering PRODUCTION moves the version there before to ARCHIVED,
 * recorded after the entry (see productionMoves). The caller holds the model's row lock.
 */
export async function moveToStage(
  em: EntityManager,
  modelVersion: ModelVersion,
  stage: ModelStage,
  why: { reason?: string | null; rollback: boolean },
  actor: Identity,
): Promise<void> {
  if (modelVersion.stage === stage) return;
  const previous =
    stage === ModelStage.PRODUCTION
      ? await em.findOneBy(ModelVersion, { modelId: modelVersion.modelId, stage: ModelStage.PRODUCTION })
      : null;
  const change = { modelId: modelVersion.modelId, reason: why.reason, rollback: why.rollback };
  recordStageChange(em, { ...change, versionId: modelVersion.id, from: modelVersion.stage, to: stage }, actor);
  modelVersion.stage = stage;
  await em.update(ModelVersion, { id: modelVersion.id }, { stage });
  if (previous) {
    const reason = `replaced in production by ${modelVersion.version}`;
    recordStageChange(em, { ...change, reason, versionId: previous.id, from: ModelStage.PRODUCTION, to: ModelStage.ARCHIVED }, actor);
    await em.update(ModelVersion, { id: previous.id }, { stage: ModelStage.ARCHIVED });
  }
}

export async function findVersion(em: EntityManager, modelName: string, version: string): Promise<Outcome<ModelVersion>> {
  const model = await em.findOneBy(Model, { name: modelName });
  if (!model) return reject(modelNotFound(modelName));
  const found = await em.findOneBy(ModelVersion, { modelId: model.id, version });
  return found ? succeed(found) : reject(versionNotFound(modelName, version));
}

export function versionNotFound(modelName: string, version: string) {
  return userError('version', `${modelName} has no version ${version}`, UserErrorCode.NOT_FOUND);
}

/** Versions of one model in semver order, highest first. */
export function listVersionsOfModel(
  em: EntityManager,
  modelId: string,
  stage: ModelStage | null | undefined,
  page: PageArgs,
): Promise<ConnectionShape<ModelVersion>> {
  const query = em.createQueryBuilder(ModelVersion, 'v').where('v.modelId = :modelId', { modelId });
  if (stage) query.andWhere('v.stage = :stage', { stage });
  return paginate(query, page, [
    { column: 'v.sortKey', value: (v) => v.sortKey, direction: 'DESC' },
    { column: 'v.id', value: (v) => v.id, direction: 'DESC' },
  ]);
}

/** Versions of all models, newest registration first. */
export async function listVersions(
  em: EntityManager,
  filter: ModelVersionFilter | null | undefined,
  page: PageArgs,
): Promise<ConnectionShape<ModelVersion>> {
  const query = em.createQueryBuilder(ModelVersion, 'v');
  if (filter?.model) {
    query.innerJoin(Model, 'm', 'm.id = v.modelId').andWhere('m.name = :name', { name: filter.model });
  }
  if (filter?.stage) query.andWhere('v.stage = :stage', { stage: filter.stage });
  if (filter?.framework) query.andWhere('v.framework = :framework', { framework: filter.framework });
  return paginate(query, page, [{ column: 'v.id', value: (v) => v.id, direction: 'DESC' }]);
}

function metricMap(metrics: TrainingMetricInput[]): Record<string, number> {
  return Object.fromEntries(metrics.map((metric) => [metric.name, metric.value]));
}
