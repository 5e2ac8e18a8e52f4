// Reading a model's history of stage changes and alias moves.
import type { EntityManager } from 'typeorm';
import { paginate, type ConnectionShape, type PageArgs } from '../../../common/graphql/connection';
import { ModelEvent } from './model-event.entity';

/** Newest first, for a model (`modelId`) or the events that involve one version (`versionId`). */
export function listModelEvents(
  em: EntityManager,
  of: { modelId: string } | { versionId: string },
  page: PageArgs,
): Promise<ConnectionShape<ModelEvent>> {
  const query = em.createQueryBuilder(ModelEvent, 'e');
  if ('modelId' in of) query.where('e.modelId = :modelId', of);
  else query.where('(e.versionId = :versionId OR e.fromVersionId = :versionId)', of);
  return paginate(query, page, [{ column: 'e.id', value: (e) => e.id, direction: 'DESC' }]);
}
