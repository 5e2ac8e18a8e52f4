// Deployment history: appended by whatever deploys a version (the scheduler's deployments, CI, people).
import type { EntityManager } from 'typeorm';
import type { Identity } from '../../../common/auth/identity';
import { newId } from '../../../common/db/ids';
import { paginate, type ConnectionShape, type PageArgs } from '../../../common/graphql/connection';
import { reject, succeed, type Outcome } from '../../../common/graphql/types';
import { InputCheck } from '../../../common/validation';
import { findVersion } from '../version/model-version.service';
import { DeploymentEvent } from './deployment-event.entity';
import type { RecordDeploymentEventInput } from './deployment-event.inputs';

export async function recordDeploymentEvent(
  em: EntityManager,
  input: RecordDeploymentEventInput,
  actor: Identity,
): Promise<Outcome<{ deploymentEvent: DeploymentEvent }>> {
  const check = new InputCheck();
  check.slug('environment', input.environment, 63);
  check.jsonObject('details', input.details, { maxBytes: 16 * 1024 });
  if (!check.ok) return reject(...check.errors);
  const version = await findVersion(em, input.model, input.version);
  if (version.userErrors) return version;

  const deploymentEvent = em.create(DeploymentEvent, {
    id: newId(),
    modelId: version.value.modelId,
    versionId: version.value.id,
    environment: input.environment,
    action: input.action,
    details: (input.details as object | null | undefined) ?? null,
    actorId: actor.id,
    actor: actor.name,
    createdAt: new Date(),
  });
  await em.insert(DeploymentEvent, deploymentEvent);
  return succeed({ deploymentEvent });
}

/** Newest first, for a model (`modelId`) or one of its versions (`versionId`). */
export function listDeploymentEvents(
  em: EntityManager,
  of: { modelId: string } | { versionId: string },
  environment: string | null | undefined,
  page: PageArgs,
): Promise<ConnectionShape<DeploymentEvent>> {
  const query = em.createQueryBuilder(DeploymentEvent, 'd');
  if ('modelId' in of) query.where('d.modelId = :modelId', of);
  else query.where('d.versionId = :versionId', of);
  if (environment) query.andWhere('d.environment = :environment', { environment });
  return paginate(query, page, [{ column: 'd.id', value: (d) => d.id, direction: 'DESC' }]);
}
