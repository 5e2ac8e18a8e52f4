// The rules of models: creating, changing, finding and listing them.
import type { EntityManager } from 'typeorm';
import type { Identity } from '../../../common/auth/identity';
import { newId } from '../../../common/db/ids';
import { forUpdate } from '../../../common/db/database';
import { paginate, type ConnectionShape, type PageArgs } from '../../../common/graphql/connection';
import { reject, succeed, userError, UserErrorCode, type Outcome, type UserError } from '../../../common/graphql/types';
import { InputCheck } from '../../../common/validation';
import { Model, ModelTag } from './model.entity';
import { checkModelFields, MODEL_NAME_MAX, type CreateModelInput, type ModelFilter, type UpdateModelInput } from './model.inputs';

export async function createModel(em: EntityManager, input: CreateModelInput, actor: Identity): Promise<Outcome<{ model: Model }>> {
  const check = new InputCheck();
  check.text('name', input.name, MODEL_NAME_MAX, { required: true });
  if (check.ok) check.slug('name', input.name, MODEL_NAME_MAX);
  checkModelFields(check, input);
  if (!check.ok) return reject(...check.errors);

  if (await em.existsBy(Model, { name: input.name })) {
    return reject(userError('name', `A model named "${input.name}" already exists`, UserErrorCode.ALREADY_EXISTS));
  }
  const now = new Date();
  const model = em.create(Model, {
    id: newId(),
    name: input.name,
    description: input.description ?? null,
    sport: input.sport ?? null,
    task: input.task ?? null,
    owner: input.owner ?? null,
    createdBy: actor.name,
    createdAt: now,
    updatedAt: now,
  });
  await em.insert(Model, model);
  await replaceTags(em, model.id, input.tags ?? []);
  return succeed({ model });
}

export async function updateModel(em: EntityManager, input: UpdateModelInput): Promise<Outcome<{ model: Model }>> {
  const check = new InputCheck();
  checkModelFields(check, input);
  if (!check.ok) return reject(...check.errors);

  const found = await findModelForUpdate(em, input.name, 'name');
  if (found.userErrors) return found;
  const model = found.value;
  for (const field of ['description', 'sport', 'task', 'owner'] as const) {
    if (input[field] !== undefined) Object.assign(model, { [field]: input[field] });
  }
  model.updatedAt = new Date();
  await em.save(Model, model);
  if (input.tags !== undefined) await replaceTags(em, model.id, input.tags ?? []);
  return succeed({ model });
}

/** The model called `name`, locked for the rest of the transaction, or a NOT_FOUND user error at `field`. */
export async function findModelForUpdate(em: EntityManager, name: string, field = 'model'): Promise<Outcome<Model>> {
  const model = await em.findOne(Model, { where: { name }, lock: forUpdate(em) });
  return model ? succeed(model) : reject(modelNotFound(name, field));
}

export function modelNotFound(name: string, field = 'model'): UserError {
  return userError(field, `No model named "${name}"`, UserErrorCode.NOT_FOUND);
}

export function listModels(em: EntityManager, filter: ModelFilter | null | undefined, page: PageArgs): Promise<ConnectionShape<Model>> {
  const query = em.createQueryBuilder(Model, 'model');
  if (filter?.namePrefix) {
    query.andWhere("model.name LIKE :prefix ESCAPE '\\'", { prefix: `${escapeLike(filter.namePrefix.toLowerCase())}%` });
  }
  if (filter?.sport) query.andWhere('model.sport = :sport', { sport: filter.sport });
  if (filter?.task) query.andWhere('model.task = :task', { task: filter.task });
  if (filter?.owner) query.andWhere('model.owner = :owner', { owner: filter.owner });
  if (filter?.tag) {
    query.andWhere(
      (sub) => `EXISTS ${sub.subQuery().select('1').from(ModelTag, 't').where('t.modelId = model.id AND t.tag = :tag').getQuery()}`,
      { tag: filter.tag },
    );
  }
  return paginate(query, page, [{ column: 'model.name', value: (model) => model.name, direction: 'ASC' }]);
}

async function replaceTags(em: EntityManager, modelId: string, tags: string[]): Promise<void> {
  await em.delete(ModelTag, { modelId });
  const unique = [...new Set(tags)];
  if (unique.length > 0) await em.insert(ModelTag, unique.map((tag) => ({ modelId, tag })));
}

/** A prefix is matched literally: `%` and `_` in it are not wildcards. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}
