// Who may do what: API keys and roles at the gateway, and signed identities at the subgraphs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../common/auth/identity';
import { signedHeaders } from '../../common/auth/request-signature';
import { errorCode, graphql } from '../support/graphql';
import { ADMIN_KEY, INTERNAL_SECRET, startTestPlatform, type TestPlatform } from '../support/platform';

describe('access control', () => {
  let touchline: TestPlatform;
  let viewerKey: string;
  let operatorKey: string;
  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite');
    viewerKey = await createKey('dashboard', 'VIEWER');
    operatorKey = await createKey('ci pipeline', 'OPERATOR');
  });
  afterAll(() => touchline?.destroy());

  async function createKey(name: string, role: string, expiresAt?: string): Promise<string> {
    const created = await touchline.gql(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id name role prefix status } key userErrors { message } } }`,
      { input: { name, role, expiresAt } },
    );
    expect(created.data?.createApiKey.userErrors).toEqual([]);
    return created.data?.createApiKey.key;
  }

  describe('at the gateway', () => {
    it('refuses a request without a key, with a malformed header, or with an unknown key', async () => {
      const none = await touchline.gql(`{ models { nodes { name } } }`, {}, null);
      expect(none.status).toBe(401);
      expect(errorCode(none)).toBe('UNAUTHENTICATED');
      expect(none.data).toBeUndefined();

      const malformed = await graphql(touchline.url, `{ viewer { name } }`, {}, { headers: { authorization: `Token ${ADMIN_KEY}` } });
      expect(malformed.status).toBe(401);
      expect(malformed.errors?.[0]?.message).toMatch(/Malformed Authorization header/);

      const unknown = await touchline.gql(`{ viewer { name } }`, {}, 'tl_not-a-real-key-at-all');
      expect(unknown.status).toBe(401);
      expect(unknown.errors?.[0]?.message).toBe('Invalid API key');

      const introspection = await touchline.gql(`{ __schema { queryType { name } } }`, {}, null);
      expect(introspection.status).toBe(401);
    });

    it('shows a new key once; afterwards only its prefix and status', async () => {
      const key = await createKey('notebook', 'VIEWER');
      expect(key).toMatch(/^tl_[A-Za-z0-9_-]{43}$/);
      const listed = await touchline.gql(`{ apiKeys { nodes { name prefix role status lastUsedAt } } }`);
      expect(listed.data?.apiKeys.nodes).toContainEqual({ name: 'notebook', prefix: key.slice(0, 10), role: 'VIEWER', status: 'ACTIVE', lastUsedAt: null });
      const noKeyField = await touchline.gql(`{ apiKeys { nodes { key } } }`);
      expect(errorCode(noKeyField)).toBe('GRAPHQL_VALIDATION_FAILED');
    });

    it('lets a viewer read but not change anything, and records the attempt', async () => {
      const me = await touchline.gql(`{ viewer { name role } }`, {}, viewerKey);
      expect(me.data?.viewer).toEqual({ name: 'dashboard', role: 'VIEWER' });
      expect((await touchline.gql(`{ models { nodes { name } } }`, {}, viewerKey)).errors).toBeUndefined();

      const attempt = await touchline.gql(`mutation { createModel(input: {name: "sneaky"}) { model { id } } }`, {}, viewerKey);
      expect(errorCode(attempt)).toBe('FORBIDDEN');
      expect(attempt.errors?.[0]?.message).toBe('createModel needs the operator role; this key has the viewer role');
      expect((await touchline.gql(`{ model(name: "sneaky") { id } }`)).data?.model).toBeNull();

      const audit = await touchline.gql(`{ auditLog(filter: {outcome: FORBIDDEN}) { nodes { service action actorName outcome } } }`);
      expect(audit.data?.auditLog.nodes).toContainEqual({ service: 'registry', action: 'createModel', actorName: 'dashboard', outcome: 'FORBIDDEN' });
    });

    it('lets an operator change models but not keys or the audit log', async () => {
      const created = await touchline.gql(`mutation { createModel(input: {name: "xg"}) { model { name createdBy } } }`, {}, operatorKey);
      expect(created.data?.createModel.model).toEqual({ name: 'xg', createdBy: 'ci pipeline' });
      for (const operation of [
        `mutation { createApiKey(input: {name: "escalate", role: ADMIN}) { key } }`,
        `{ apiKeys { nodes { name } } }`,
        `{ auditLog { nodes { action } } }`,
      ]) {
        const refused = await touchline.gql(operation, {}, operatorKey);
        expect(errorCode(refused)).toBe('FORBIDDEN');
        expect(refused.errors?.[0]?.message).toMatch(/needs the admin role/);
      }
    });

    it('stops accepting a key once it is revoked', async () => {
      const key = await createKey('leaked', 'OPERATOR');
      expect((await touchline.gql(`{ viewer { name } }`, {}, key)).data?.viewer.name).toBe('leaked');
      const id = (await touchline.gql(`{ apiKeys { nodes { id name } } }`)).data?.apiKeys.nodes.find((k: { name: string }) => k.name === 'leaked').id;
      const revoked = await touchline.gql(`mutation($id: ID!) { revokeApiKey(input: {id: $id}) { apiKey { status revokedBy } userErrors { message } } }`, { id });
      expect(revoked.data?.revokeApiKey).toEqual({ apiKey: { status: 'REVOKED', revokedBy: 'bootstrap admin' }, userErrors: [] });

      const after = await touchline.gql(`{ viewer { name } }`, {}, key);
      expect(after.status).toBe(401);
      expect(after.errors?.[0]?.message).toBe('This API key has been revoked');
    });

    it('stops accepting a key when it expires', async () => {
      const past = await touchline.gql(`mutation { createApiKey(input: {name: "old", role: VIEWER, expiresAt: "2020-01-01T00:00:00Z"}) { key userErrors { field message } } }`);
      expect(past.data?.createApiKey).toEqual({ key: null, userErrors: [{ field: ['input', 'expiresAt'], message: 'must be in the future' }] });

      const key = await createKey('short-lived', 'VIEWER', new Date(Date.now() + 1_500).toISOString());
      expect((await touchline.gql(`{ viewer { name } }`, {}, key)).data?.viewer.name).toBe('short-lived');
      await new Promise((resolve) => setTimeout(resolve, 1_700));
      const expired = await touchline.gql(`{ viewer { name } }`, {}, key);
      expect(expired.status).toBe(401);
      expect(expired.errors?.[0]?.message).toMatch(/^This API key expired at /);
    });

    it('refuses to revoke the last active admin key', async () => {
      const admin = (await touchline.gql(`{ viewer { id } }`)).data?.viewer.id;
      const refused = await touchline.gql(`mutation($id: ID!) { revokeApiKey(input: {id: $id}) { apiKey { status } userErrors { code message } } }`, { id: admin });
      expect(refused.data?.revokeApiKey.userErrors).toEqual([{ code: 'CONFLICT', message: expect.stringMatching(/last active admin key/) }]);
      expect((await touchline.gql(`{ viewer { role } }`)).data?.viewer.role).toBe('ADMIN');
    });
  });

  describe('at a subgraph, called directly', () => {
    const query = JSON.stringify({ query: '{ models { nodes { name } } }' });
    const admin: Identity = { kind: 'apiKey', id: 'forged', name: 'forger', role: 'admin' };
    const post = (body: string, headers: Record<string, string>) =>
      fetch(touchline.subgraphUrl('registry'), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

    it('refuses a request without the gateway\'s signature', async () => {
      const response = await post(query, { authorization: `Bearer ${ADMIN_KEY}` });
      expect(response.status).toBe(401);
      const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      expect(body.errors[0]!.message).toMatch(/only the gateway may call this service/);
    });

    it('refuses a signature made with another secret', async () => {
      const headers = signedHeaders('some-other-secret-that-is-long-enough!!', admin, { method: 'POST', path: '/graphql', body: query });
      expect((await post(query, headers)).status).toBe(401);
    });

    it('accepts a valid signature once and refuses it replayed, or on another body', async () => {
      const headers = signedHeaders(INTERNAL_SECRET, admin, { method: 'POST', path: '/graphql', body: query });
      expect((await post(query, headers)).status).toBe(200);
      const replayed = await post(query, headers);
      expect(replayed.status).toBe(401);
      expect(JSON.stringify(await replayed.json())).toMatch(/replayed signature/);

      const fresh = signedHeaders(INTERNAL_SECRET, admin, { method: 'POST', path: '/graphql', body: query });
      const otherBody = JSON.stringify({ query: 'mutation { createModel(input: {name: "forged"}) { model { id } } }' });
      const tampered = await post(otherBody, fresh);
      expect(tampered.status).toBe(401);
      expect(JSON.stringify(await tampered.json())).toMatch(/invalid signature/);
    });

    it('refuses a signature older than its window', async () => {
      const realNow = Date.now;
      Date.now = () => realNow() - 60_000;
      let headers: Record<string, string>;
      try {
        headers = signedHeaders(INTERNAL_SECRET, admin, { method: 'POST', path: '/graphql', body: query });
      } finally {
        Date.now = realNow;
      }
      const response = await post(query, headers);
      expect(response.status).toBe(401);
      expect(JSON.stringify(await response.json())).toMatch(/signature expired/);
    });

    it('enforces roles itself, whatever the gateway let through', async () => {
      const viewer: Identity = { kind: 'apiKey', id: 'v', name: 'viewer', role: 'viewer' };
      const mutation = JSON.stringify({ query: 'mutation { createModel(input: {name: "direct"}) { model { id } } }' });
      const response = await post(mutation, signedHeaders(INTERNAL_SECRET, viewer, { method: 'POST', path: '/graphql', body: mutation }));
      const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('FORBIDDEN');
    });
  });

  describe('the audit log', () => {
    it('merges every service\'s entries, newest first, page by page', async () => {
      const first = await touchline.gql(`{ auditLog(first: 3) { nodes { id service action outcome actorName } pageInfo { hasNextPage endCursor } } }`);
      const page = first.data?.auditLog;
      expect(page.nodes).toHaveLength(3);
      expect(page.pageInfo.hasNextPage).toBe(true);
      const second = await touchline.gql(`query($after: String) { auditLog(first: 100, after: $after) { nodes { id service action } } }`, {
        after: page.pageInfo.endCursor,
      });
      const all = [...page.nodes, ...second.data?.auditLog.nodes];
      const ids = all.map((entry: { id: string }) => entry.id);
      expect(ids).toEqual([...ids].sort().reverse());
      expect(new Set(ids).size).toBe(ids.length);
      const services = new Set(all.map((entry: { service: string }) => entry.service));
      expect(services).toEqual(new Set(['gateway', 'registry']));
      expect(all).toContainEqual(expect.objectContaining({ service: 'gateway', action: 'revokeApiKey' }));

      const onlyGateway = await touchline.gql(`{ auditLog(first: 100, filter: {service: "gateway", action: "createApiKey"}) { nodes { service action outcome } } }`);
      expect(onlyGateway.data?.auditLog.nodes.every((entry: { service: string; action: string }) => entry.service === 'gateway' && entry.action === 'createApiKey')).toBe(true);
    });
  });
});
