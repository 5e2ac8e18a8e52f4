// The rules of nodes as operators see them: listing, cordoning, draining, removing; and join tokens.
import { In, IsNull, type EntityManager } from 'typeorm';
import { issueJoinToken } from '../../../common/auth/agent-credentials';
import type { Identity } from '../../../common/auth/identity';
import { forUpdate, type Database } from '../../../common/db/database';
import { newId } from '../../../common/db/ids';
import { paginate, type ConnectionShape, type PageArgs } from '../../../common/graphql/connection';
import { reject, succeed, userError, UserErrorCode, type Outcome } from '../../../common/graphql/types';
import { InputCheck } from '../../../common/validation';
import { finishAttempt } from '../job/attempts';
import { ACTIVE_ATTEMPT_STATES, AttemptState, Job, JobAttempt } from '../job/job.entity';
import { changeState } from '../job/job.service';
import { JobState } from '../job/job-state';
import { nodeSnapshotOf, recordNodeChange } from './node-events';
import { JoinToken, Node, NodeHealth, NodeStatus } from './node.entity';
import type { CreateJoinTokenInput, DrainNodeInput, NodeFilter, NodeRefInput, RemoveNodeInput, RevokeJoinTokenInput } from './node.inputs';

const DEFAULT_DRAIN_SECONDS = 3_600;

export async function cordonNode(em: EntityManager, input: NodeRefInput, cordoned: boolean): Promise<Outcome<{ node: Node }>> {
  const node = await findNode(em, input.id);
  if (node.userErrors) return node;
  const changes = cordoned ? { cordoned: true } : { cordoned: false, draining: false, drainDeadline: null };
  await em.update(Node, { id: node.value.id }, changes);
  return succeed({ node: changeNode(em, node.value, changes) });
}

export async function drainNode(em: EntityManager, input: DrainNodeInput): Promise<Outcome<{ node: Node }>> {
  const check = new InputCheck();
  check.integer('deadlineSeconds', input.deadlineSeconds, 0, 7 * 24 * 3_600);
  if (!check.ok) return reject(...check.errors);
  const node = await findNode(em, input.id);
  if (node.userErrors) return node;
  const changes = { draining: true, drainDeadline: new Date(Date.now() + (input.deadlineSeconds ?? DEFAULT_DRAIN_SECONDS) * 1000) };
  await em.update(Node, { id: node.value.id }, changes);
  return succeed({ node: changeNode(em, node.value, changes) });
}

export async function removeNode(em: EntityManager, input: RemoveNodeInput, actor: Identity): Promise<Outcome<{ node: Node }>> {
  const node = await findNode(em, input.id);
  if (node.userErrors) return node;
  const attempts = await em.findBy(JobAttempt, { nodeId: node.value.id, state: In([...ACTIVE_ATTEMPT_STATES]) });
  if (attempts.length > 0 && !input.force) {
    return reject(userError('id', `${attempts.length} job(s) run on ${node.value.name}: drain it first (drainNode), or remove it with force`, UserErrorCode.CONFLICT));
  }
  await requeue(em, attempts, AttemptState.LOST, JobState.RETRYING, `its node ${node.value.name} was removed by ${actor.name}`);
  const changes = { removedAt: new Date(), health: NodeHealth.DOWN };
  await em.update(Node, { id: node.value.id }, changes);
  return succeed({ node: changeNode(em, node.value, changes) });
}

/** Applies `changes` (already written) to the loaded node and records the change in the nodes stream. */
function changeNode(em: EntityManager, node: Node, changes: Partial<Node>): Node {
  const before = nodeSnapshotOf(node);
  Object.assign(node, changes);
  recordNodeChange(em, before, node);
  return node;
}

/**
 * Ends attempts that will not finish where they are (node lost or removed, drain deadline passed, preempted) and
 * puts their jobs back in the queue. None of these counts as a failure of the job.
 */
export async function requeue(
  em: EntityManager,
  attempts: JobAttempt[],
  attemptState: AttemptState.LOST | AttemptState.PREEMPTED,
  jobState: JobState.RETRYING | JobState.PREEMPTED,
  reason: string,
): Promise<void> {
  for (const attempt of attempts) {
    const job = await em.findOne(Job, { where: { id: attempt.jobId }, lock: forUpdate(em) });
    await finishAttempt(em, attempt, attemptState, { reason });
    if (!job) continue;
    job.nextAttemptAt = new Date();
    job.nodeId = null;
    await changeState(em, job, jobState, { reason, node: attempt.nodeId });
  }
}

async function findNode(em: EntityManager, id: string): Promise<Outcome<Node>> {
  const node = await em.findOne(Node, { where: { id, removedAt: IsNull() }, lock: forUpdate(em) });
  return node ? succeed(node) : reject(userError('id', `No node with id ${id}`, UserErrorCode.NOT_FOUND));
}

/** Nodes in name order, without removed ones. */
export async function listNodes(em: EntityManager, filter: NodeFilter | null | undefined, page: PageArgs): Promise<ConnectionShape<Node>> {
  const query = em.createQueryBuilder(Node, 'node').where('node.removedAt IS NULL');
  const statuses = filter?.statuses ?? [];
  if (statuses.length) {
    const conditions: string[] = [];
    if (statuses.includes(NodeStatus.DOWN)) conditions.push(`node.health = '${NodeHealth.DOWN}'`);
    if (statuses.includes(NodeStatus.NOT_READY)) conditions.push(`node.health = '${NodeHealth.NOT_READY}'`);
    const ready = `node.health = '${NodeHealth.READY}'`;
    if (statuses.includes(NodeStatus.DRAINING)) conditions.push(`(${ready} AND node.draining = :yes)`);
    if (statuses.includes(NodeStatus.CORDONED)) conditions.push(`(${ready} AND node.draining = :no AND node.cordoned = :yes)`);
    if (statuses.includes(NodeStatus.READY)) conditions.push(`(${ready} AND node.draining = :no AND node.cordoned = :no)`);
    query.andWhere(`(${conditions.join(' OR ')})`, { yes: true, no: false });
  }
  return paginate(query, page, [
    { column: 'node.name', value: (node) => node.name, direction: 'ASC' },
    { column: 'node.id', value: (node) => node.id, direction: 'ASC' },
  ]);
}

export async function createJoinToken(
  em: EntityManager,
  input: CreateJoinTokenInput,
  actor: Identity,
  secret: string,
): Promise<Outcome<{ joinToken: JoinToken; token: string }>> {
  const check = new InputCheck();
  check.text('name', input.name, 100, { required: true });
  check.integer('maxUses', input.maxUses, 1, 10_000);
  check.integer('expiresInSeconds', input.expiresInSeconds, 60, 30 * 24 * 3_600);
  if (!check.ok) return reject(...check.errors);
  const now = new Date();
  const joinToken = em.create(JoinToken, {
    id: newId(),
    name: input.name.trim(),
    expiresAt: new Date(now.getTime() + (input.expiresInSeconds ?? 86_400) * 1000),
    maxUses: input.maxUses ?? 1,
    uses: 0,
    createdBy: actor.name,
    createdAt: now,
    revokedAt: null,
  });
  await em.insert(JoinToken, joinToken);
  return succeed({ joinToken, token: issueJoinToken(secret, { id: joinToken.id, exp: joinToken.expiresAt.getTime() }) });
}

export async function revokeJoinToken(em: EntityManager, input: RevokeJoinTokenInput): Promise<Outcome<{ joinToken: JoinToken }>> {
  const joinToken = await em.findOneBy(JoinToken, { id: input.id });
  if (!joinToken) return reject(userError('id', `No join token with id ${input.id}`, UserErrorCode.NOT_FOUND));
  if (!joinToken.revokedAt) {
    joinToken.revokedAt = new Date();
    await em.update(JoinToken, { id: joinToken.id }, { revokedAt: joinToken.revokedAt });
  }
  return succeed({ joinToken });
}

/** A single-use join token for the agent that `touchline up` starts beside the services. */
export async function createLocalJoinToken(db: Database, secret: string): Promise<string> {
  const local: Identity = { kind: 'service', id: 'touchline-up', name: 'touchline up', role: 'admin' };
  const outcome = await db.transaction((em) => createJoinToken(em, { name: 'local agent', maxUses: 1, expiresInSeconds: 600 }, local, secret));
  if (!outcome.value) throw new Error(`Could not make a join token for the local agent: ${outcome.userErrors.map((e) => e.message).join('; ')}`);
  return outcome.value.token;
}
