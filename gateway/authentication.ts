// Authenticates API keys sent as `Authorization: Bearer <key>`, with a short cache so that a busy client
// costs one database read every few seconds rather than one per request.
import { isAgentCredential, verifyAgentCredential } from '../common/auth/agent-credentials';
import type { Identity } from '../common/auth/identity';
import type { Database } from '../common/db/database';
import type { Logger } from '../common/logger';
import { ApiKey } from './access/api-key.entity';
import { hashKey } from './access/api-key.service';

export type Authentication = { identity: Identity } | { failure: string };

interface Cached {
  result: Authentication;
  keyId?: string;
  until: number;
}

const MAX_CACHED = 10_000;
const LAST_USED_PRECISION_MS = 60_000;

export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, Cached>();
  /** Lookups under way, so that requests arriving together with the same key share one database read. */
  private readonly pending = new Map<string, Promise<Authentication>>();
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    /** Verifies node agents' credentials, which are signed rather than stored. */
    private readonly secret: string,
    /** How long a verdict is reused. A key revoked through another gateway instance stops working within this. */
    private readonly cacheMs = 5_000,
  ) {}

  async authenticate(authorization: string | undefined): Promise<Authentication> {
    if (!authorization) return { failure: 'Authentication required: send an API key as `Authorization: Bearer <key>`' };
    const match = /^Bearer[ ]+([\x21-\x7e]{1,1024})$/i.exec(authorization.trim());
    if (!match) return { failure: 'Malformed Authorization header: expected `Bearer <key>`' };
    const token = match[1]!;
    if (isAgentCredential(token)) return verifyAgentCredential(this.secret, token);
    const hash = hashKey(token);
    const now = Date.now();

    const cached = this.cache.get(hash);
    if (cached && cached.until > now) {
      if (cached.keyId) this.noteUse(cached.keyId, now);
      return cached.result;
    }
    let lookup = this.pending.get(hash);
    if (!lookup) {
      lookup = this.lookUp(hash, now).finally(() => this.pending.delete(hash));
      this.pending.set(hash, lookup);
    }
    return lookup;
  }

  private async lookUp(hash: string, now: number): Promise<Authentication> {
    const apiKey = await this.db.manager.findOneBy(ApiKey, { hash });
    const result = verdict(apiKey, now);
    const until = Math.min(now + this.cacheMs, apiKey?.expiresAt?.getTime() ?? Infinity);
    this.remember(hash, { result, keyId: apiKey?.id, until });
    if (apiKey && 'identity' in result) this.noteUse(apiKey.id, now);
    return result;
  }

  /** Drops what is cached about a key, so a revocation takes effect at once on this instance. */
  forget(keyId: string): void {
    for (const [hash, cached] of this.cache) if (cached.keyId === keyId) this.cache.delete(hash);
  }

  private remember(hash: string, entry: Cached): void {
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(hash, entry);
  }

  /** Records when a key was last used, at most once a minute per key, without holding up the request. */
  private noteUse(keyId: string, now: number): void {
    if (now - (this.lastUsedWritten.get(keyId) ?? 0) < LAST_USED_PRECISION_MS) return;
    this.lastUsedWritten.set(keyId, now);
    this.db
      .transaction((em) => em.update(ApiKey, { id: keyId }, { lastUsedAt: new Date(now) }))
      .catch((error: unknown) => this.logger.warn({ err: error, keyId }, 'could not record when a key was last used'));
  }
}

function verdict(apiKey: ApiKey | null, now: number): Authentication {
  if (!apiKey) return { failure: 'Invalid API key' };
  if (apiKey.revokedAt) return { failure: 'This API key has been revoked' };
  if (apiKey.expiresAt && apiKey.expiresAt.getTime() <= now) {
    return { failure: `This API key expired at ${apiKey.expiresAt.toISOString()}` };
  }
  return { identity: { kind: 'apiKey', id: apiKey.id, name: apiKey.name, role: apiKey.role } };
}
