// The rules of API keys: making them, revoking them, and the first admin key of a new installation.
import { createHash, randomBytes } from 'node:crypto';
import { IsNull, type EntityManager } from 'typeorm';
import type { Identity } from '../../common/auth/identity';
import { newId } from '../../common/db/ids';
import { paginate, type ConnectionShape, type PageArgs } from '../../common/graphql/connection';
import { reject, succeed, userError, UserErrorCode, type Outcome } from '../../common/graphql/types';
import { InputCheck } from '../../common/validation';
import { ApiKey, ApiKeyRole } from './api-key.entity';
import type { CreateApiKeyInput, RevokeApiKeyInput } from './api-key.inputs';

const KEY_PREFIX = 'tl_';
const SHOWN_PREFIX_LENGTH = 10;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function generateKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export async function createApiKey(
  em: EntityManager,
  input: CreateApiKeyInput,
  actor: Identity,
): Promise<Outcome<{ apiKey: ApiKey; key: string }>> {
  const check = new InputCheck();
  check.text('name', input.name, 100, { required: true });
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) check.fail('expiresAt', 'must be in the future');
  if (!check.ok) return reject(...check.errors);

  const key = generateKey();
  const apiKey = await insertKey(em, { key, name: input.name.trim(), role: input.role, createdBy: actor.name, expiresAt: input.expiresAt ?? null });
  return succeed({ apiKey, key });
}

export async function revokeApiKey(em: EntityManager, input: RevokeApiKeyInput, actor: Identity): Promise<Outcome<{ apiKey: ApiKey }>> {
  const apiKey = await em.findOneBy(ApiKey, { id: input.id });
  if (!apiKey) return reject(userError('id', `No API key with id ${input.id}`, UserErrorCode.NOT_FOUND));
  if (apiKey.revokedAt) return succeed({ apiKey });
  if (apiKey.role === ApiKeyRole.ADMIN) {
    const activeAdmins = (await em.findBy(ApiKey, { role: ApiKeyRole.ADMIN, revokedAt: IsNull() })).filter(
      (candidate) => !candidate.expiresAt || candidate.expiresAt.getTime() > Date.now(),
    );
    if (activeAdmins.length === 1 && activeAdmins[0]!.id === apiKey.id) {
      return reject(userError('id', 'This is the last active admin key: create another admin key before revoking it', UserErrorCode.CONFLICT));
    }
  }
  apiKey.revokedAt = new Date();
  apiKey.revokedBy = actor.name;
  await em.update(ApiKey, { id: apiKey.id }, { revokedAt: apiKey.revokedAt, revokedBy: apiKey.revokedBy });
  return succeed({ apiKey });
}

export function listApiKeys(em: EntityManager, includeRevoked: boolean, page: PageArgs): Promise<ConnectionShape<ApiKey>> {
  const query = em.createQueryBuilder(ApiKey, 'k');
  if (!includeRevoked) query.where('k.revokedAt IS NULL');
  return paginate(query, page, [{ column: 'k.id', value: (k) => k.id, direction: 'DESC' }]);
}

/**
 * On a new installation (no key at all), creates the first admin key: `configured` if given
 * (TOUCHLINE_ADMIN_KEY), otherwise a generated one. Returns the key to show once, or undefined when keys exist.
 */
export async function bootstrapAdminKey(em: EntityManager, configured: string | undefined): Promise<{ key: string; generated: boolean } | undefined> {
  if ((await em.count(ApiKey)) > 0) return undefined;
  const key = configured ?? generateKey();
  await insertKey(em, { key, name: 'bootstrap admin', role: ApiKeyRole.ADMIN, createdBy: 'touchline', expiresAt: null });
  return { key, generated: configured === undefined };
}

async function insertKey(
  em: EntityManager,
  fields: { key: string; name: string; role: ApiKeyRole; createdBy: string; expiresAt: Date | null },
): Promise<ApiKey> {
  const apiKey = em.create(ApiKey, {
    id: newId(),
    name: fields.name,
    role: fields.role,
    prefix: fields.key.slice(0, SHOWN_PREFIX_LENGTH),
    hash: hashKey(fields.key),
    createdBy: fields.createdBy,
    createdAt: new Date(),
    expiresAt: fields.expiresAt,
    revokedAt: null,
    revokedBy: null,
    lastUsedAt: null,
  });
  await em.insert(ApiKey, apiKey);
  return apiKey;
}
