// The rules of aliases and rollbacks: set, move, remove, and go back to where a pointer was before.
import type { EntityManager } from 'typeorm';
import type { Identity } from '../../../common/auth/identity';
import { reject, succeed, userError, UserErrorCode, type Outcome } from '../../../common/graphql/types';
import { InputCheck } from '../../../common/validation';
import { ModelEvent, ModelEventKind } from '../history/model-event.entity';
import { productionMoves, recordAliasMove, rollbackTarget } from '../history/model-history';
import type { Model } from '../model/model.entity';
import { findModelForUpdate } from '../model/model.service';
import { ModelStage, ModelVersion } from '../version/model-version.entity';
import { moveToStage, versionNotFound } from '../version/model-version.service';
import { ModelAlias } from './model-alias.entity';
import { checkAliasName, type DeleteModelAliasInput, type RollbackModelInput, type SetModelAliasInput } from './model-alias.inputs';

export async function setAlias(
  em: EntityManager,
  input: SetModelAliasInput,
  actor: Identity,
): Promise<Outcome<{ modelAlias: ModelAlias; modelVersion: ModelVersion }>> {
  const check = new InputCheck();
  checkAliasName(check, input.alias);
  check.text('reason', input.reason, 1000);
  if ((input.version == null) === (input.versionId == null)) check.fail('version', 'give exactly one of version and versionId', UserErrorCode.REQUIRED);
  if (!check.ok) return reject(...check.errors);

  const model = await findModelForUpdate(em, input.model);
  if (model.userErrors) return model;
  let modelVersion: ModelVersion | null;
  if (input.versionId != null) {
    modelVersion = await em.findOneBy(ModelVersion, { id: input.versionId });
    if (!modelVersion) return reject(userError('versionId', `No version with id ${input.versionId}`, UserErrorCode.NOT_FOUND));
    if (modelVersion.modelId !== model.value.id) {
      return reject(userError('versionId', `Version ${input.versionId} belongs to another model, not ${input.model}`, UserErrorCode.CONFLICT));
    }
  } else {
    modelVersion = await em.findOneBy(ModelVersion, { modelId: model.value.id, version: input.version! });
    if (!modelVersion) return reject(versionNotFound(input.model, input.version!));
  }
  const modelAlias = await pointAlias(em, model.value, input.alias, modelVersion, { reason: input.reason, rollback: false }, actor);
  return succeed({ modelAlias, modelVersion });
}

export async function deleteAlias(em: EntityManager, input: DeleteModelAliasInput, actor: Identity): Promise<Outcome<{ model: Model }>> {
  const check = new InputCheck();
  check.text('reason', input.reason, 1000);
  if (!check.ok) return reject(...check.errors);
  const model = await findModelForUpdate(em, input.model);
  if (model.userErrors) return model;
  const existing = await em.findOneBy(ModelAlias, { modelId: model.value.id, name: input.alias });
  if (!existing) return reject(aliasNotFound(input.model, input.alias));
  await em.delete(ModelAlias, { modelId: model.value.id, name: input.alias });
  recordAliasMove(em, { modelId: model.value.id, alias: input.alias, from: existing.versionId, to: null, reason: input.reason }, actor);
  return succeed({ model: model.value });
}

export async function rollbackModel(
  em: EntityManager,
  input: RollbackModelInput,
  actor: Identity,
): Promise<Outcome<{ model: Model; modelVersion: ModelVersion }>> {
  const check = new InputCheck();
  check.text('reason', input.reason, 1000);
  if (!check.ok) return reject(...check.errors);
  const found = await findModelForUpdate(em, input.model);
  if (found.userErrors) return found;
  const model = found.value;
  const why = { reason: input.reason ?? 'rollback', rollback: true };

  if (input.alias != null) {
    const events = await em.find(ModelEvent, {
      where: { modelId: model.id, kind: ModelEventKind.ALIAS_MOVED, alias: input.alias },
      order: { id: 'ASC' },
    });
    const moves = events.map((event) => ({ from: event.fromVersionId, to: event.toVersionId, rollback: event.rollback }));
    const target = await rollbackVersion(em, rollbackTarget(moves), `alias ${input.alias}`, 'alias');
    if (target.userErrors) return target;
    await pointAlias(em, model, input.alias, target.value, why, actor);
    return succeed({ model, modelVersion: target.value });
  }

  const stageChange = { modelId: model.id, kind: ModelEventKind.STAGE_CHANGED };
  const history = await em.find(ModelEvent, {
    where: [
      { ...stageChange, toStage: ModelStage.PRODUCTION },
      { ...stageChange, fromStage: ModelStage.PRODUCTION },
    ],
    order: { id: 'ASC' },
  });
  const target = await rollbackVersion(em, rollbackTarget(productionMoves(history)), 'the production stage', null);
  if (target.userErrors) return target;
  await moveToStage(em, target.value, ModelStage.PRODUCTION, why, actor);
  return succeed({ model, modelVersion: target.value });
}

async function rollbackVersion(
  em: EntityManager,
  target: string | null | undefined,
  pointer: string,
  field: string | null,
): Promise<Outcome<ModelVersion>> {
  if (target === undefined) {
    return reject(userError(field, `Nothing to roll back: ${pointer} has never moved`, UserErrorCode.CONFLICT));
  }
  if (target === null) {
    return reject(userError(field, `Nothing to roll back to: ${pointer} pointed at no version before`, UserErrorCode.CONFLICT));
  }
  const version = await em.findOneBy(ModelVersion, { id: target });
  return version ? succeed(version) : reject(userError(field, `The earlier version of ${pointer} no longer exists`, UserErrorCode.NOT_FOUND));
}

/** Sets an alias to a version (creating it if needed) and records the move; no-op when it already points there. */
async function pointAlias(
  em: EntityManager,
  model: Model,
  alias: string,
  version: ModelVersion,
  why: { reason?: string | null; rollback: boolean },
  actor: Identity,
): Promise<ModelAlias> {
  const existing = await em.findOneBy(ModelAlias, { modelId: model.id, name: alias });
  if (existing?.versionId === version.id) return existing;
  const modelAlias = em.create(ModelAlias, {
    modelId: model.id,
    name: alias,
    versionId: version.id,
    updatedBy: actor.name,
    updatedAt: new Date(),
  });
  await em.save(ModelAlias, modelAlias);
  recordAliasMove(em, { modelId: model.id, alias, from: existing?.versionId ?? null, to: version.id, ...why }, actor);
  return modelAlias;
}

export function aliasNotFound(model: string, alias: string) {
  return userError('alias', `${model} has no alias "${alias}"`, UserErrorCode.NOT_FOUND);
}
