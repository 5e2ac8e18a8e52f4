// The gateway as an endpoint: query limits, body size, health checks, and the offline playground.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '../support/graphql';
import { ADMIN_KEY, startTestPlatform, type TestPlatform } from '../support/platform';

describe('the gateway endpoint', () => {
  let touchline: TestPlatform;
  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', { env: { TOUCHLINE_MAX_BODY_BYTES: String(64 * 1024) } });
  });
  afterAll(() => touchline?.destroy());
  /** The gateway's origin; it moves when the platform restarts on new ports. */
  const origin = () => new URL(touchline.url).origin;

  it('refuses queries nested deeper than the limit, before running them', async () => {
    let selection = 'name';
    for (let i = 0; i < 8; i++) selection = `latestVersion { model { ${selection} } }`;
    const deep = await touchline.gql(`{ model(name: "xg") { ${selection} } }`);
    expect(deep.status).toBe(400);
    expect(errorCode(deep)).toBe('QUERY_TOO_DEEP');
    expect(deep.errors?.[0]?.message).toMatch(/^Query is 18 levels deep; the limit is 15/);
  });

  it('refuses queries whose pages multiply beyond the complexity limit', async () => {
    const wide = await touchline.gql(`{ models(first: 100) { nodes { versions(first: 100) { nodes { history(first: 100) { nodes { id } } } } } } }`);
    expect(wide.status).toBe(400);
    expect(errorCode(wide)).toBe('QUERY_TOO_COMPLEX');
    expect(wide.errors?.[0]?.extensions).toMatchObject({ maxComplexity: 10_000 });

    const fine = await touchline.gql(`{ models(first: 100) { nodes { name versions(first: 20) { nodes { version } } } } }`);
    expect(fine.errors).toBeUndefined();
  });

  it('still answers the playground\'s introspection query', async () => {
    const introspection = await touchline.gql(`{ __schema { types { name fields { name type { name ofType { name ofType { name ofType { name } } } } } } } }`);
    expect(introspection.errors).toBeUndefined();
    expect(introspection.data?.__schema.types.map((t: { name: string }) => t.name)).toContain('ModelVersion');
  });

  it('refuses a body above the size limit with 413', async () => {
    const response = await fetch(touchline.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify({ query: `{ viewer { name } }`, variables: { padding: 'x'.repeat(100 * 1024) } }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await touchline.gql(`{ viewer { name } }`)).data?.viewer.name).toBe('bootstrap admin');
  });

  it('turns off the telemetry @apollo/gateway would otherwise send to Apollo', () => {
    expect(process.env.APOLLO_TELEMETRY_DISABLED).toBe('true');
  });

  it('answers health checks without authentication', async () => {
    const alive = await fetch(`${origin()}/healthz`);
    expect(alive.status).toBe(200);
    const ready = await fetch(`${origin()}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { supergraph: 'ok', database: 'ok', registry: 'ok', scheduler: 'ok', monitoring: 'ok' },
    });
  });

  it('serves a playground whose every file comes from the gateway itself', async () => {
    const page = await fetch(touchline.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets).toEqual(['/playground/graphiql.css', '/playground/react.js', '/playground/react-dom.js', '/playground/graphiql.js', '/playground/graphql-ws.js', '/playground/app.js']);
    for (const asset of assets) {
      const response = await fetch(`${origin()}${asset}`);
      expect(response.status, asset).toBe(200);
      expect((await response.text()).length, asset).toBeGreaterThan(100);
    }
    expect((await fetch(`${origin()}/playground/../package.json`)).status).toBe(404);
  });

  it('tells a client that asks for an operation its document does not hold', async () => {
    const response = await fetch(touchline.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify({ query: 'query Models { models { totalCount } }', operationName: 'Missing' }),
    });
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.message).toMatch(/Unknown operation named "Missing"/);
    expect(body.errors[0]!.extensions.code).not.toBe('INTERNAL_SERVER_ERROR');
  });

  it('answers an internal failure with a bare error and no details, and keeps serving', async () => {
    const registry = touchline.platform.subgraphs.find((subgraph) => subgraph.name === 'registry')!;
    await registry.db.dataSource.destroy();
    const failed = await touchline.gql(`{ models { nodes { name } } }`);
    expect(failed.errors).toEqual([{ message: 'Internal server error', path: ['models'], extensions: { code: 'INTERNAL_SERVER_ERROR', serviceName: 'registry' } }]);
    expect(JSON.stringify(failed)).not.toMatch(/typeorm|at \/|stack/i);
    expect((await touchline.gql(`{ viewer { name } }`)).data?.viewer.name).toBe('bootstrap admin');
    await touchline.restart();
    expect((await touchline.gql(`{ models { totalCount } }`)).data?.models.totalCount).toBe(0);
  });

  it('reports a subgraph that stops answering as not ready', async () => {
    const registry = touchline.platform.subgraphs.find((subgraph) => subgraph.name === 'registry')!;
    await registry.stop();
    const ready = await fetch(`${origin()}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: Record<string, string> };
    expect(body.checks.registry).not.toBe('ok');
    expect(body.checks.scheduler).toBe('ok');
    expect((await fetch(`${origin()}/healthz`)).status).toBe(200);
    await touchline.restart();
  });
});
