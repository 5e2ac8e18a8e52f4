// Per-request DataLoaders: every entity and list a resolver needs is fetched in one query per type, per tick.
import DataLoader from 'dataloader';
import { In, type EntityManager, type ObjectLiteral, type EntityTarget } from 'typeorm';
import { ModelAlias } from './alias/model-alias.entity';
import { Model, ModelTag } from './model/model.entity';
import { ModelStage, ModelVersion } from './version/model-version.entity';

export type RegistryLoaders = ReturnType<typeof createLoaders>;

export function createLoaders(em: EntityManager) {
  return {
    model: new DataLoader((ids: readonly string[]) => byId(em, Model, ids)),
    modelByName: new DataLoader(async (names: readonly string[]) => {
      const rows = await em.findBy(Model, { name: In([...names]) });
      return names.map((name) => rows.find((row) => row.name === name));
    }),
    version: new DataLoader((ids: readonly string[]) => byId(em, ModelVersion, ids)),
    tags: new DataLoader(async (modelIds: readonly string[]) => {
      const rows = await em.find(ModelTag, { where: { modelId: In([...modelIds]) }, order: { tag: 'ASC' } });
      return modelIds.map((id) => rows.filter((row) => row.modelId === id).map((row) => row.tag));
    }),
    aliasesOfModel: new DataLoader(async (modelIds: readonly string[]) => {
      const rows = await em.find(ModelAlias, { where: { modelId: In([...modelIds]) }, order: { name: 'ASC' } });
      return modelIds.map((id) => rows.filter((row) => row.modelId === id));
    }),
    aliasesOfVersion: new DataLoader(async (versionIds: readonly string[]) => {
      const rows = await em.find(ModelAlias, { where: { versionId: In([...versionIds]) }, order: { name: 'ASC' } });
      return versionIds.map((id) => rows.filter((row) => row.versionId === id).map((row) => row.name));
    }),
    productionVersion: new DataLoader(async (modelIds: readonly string[]) => {
      const rows = await em.findBy(ModelVersion, { modelId: In([...modelIds]), stage: ModelStage.PRODUCTION });
      return modelIds.map((id) => rows.find((row) => row.modelId === id));
    }),
    /** The highest release by semver precedence, or the highest prerelease when a model has only those. */
    latestVersion: new DataLoader(async (modelIds: readonly string[]) => {
      const rows = await em
        .createQueryBuilder(ModelVersion, 'v')
        .where('v.modelId IN (:...modelIds)', { modelIds })
        .andWhere((query) => {
          const best = query
            .subQuery()
            .select('best.id')
            .from(ModelVersion, 'best')
            .where('best.modelId = v.modelId')
            .orderBy('best.isPrerelease', 'ASC')
            .addOrderBy('best.sortKey', 'DESC')
            .limit(1)
            .getQuery();
          return `v.id = ${best}`;
        })
        .getMany();
      return modelIds.map((id) => rows.find((row) => row.modelId === id));
    }),
  };
}

async function byId<T extends ObjectLiteral & { id: string }>(
  em: EntityManager,
  entity: EntityTarget<T>,
  ids: readonly string[],
): Promise<(T | undefined)[]> {
  const rows = await em.getRepository(entity).findBy({ id: In([...ids]) } as never);
  const found = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => found.get(id));
}
