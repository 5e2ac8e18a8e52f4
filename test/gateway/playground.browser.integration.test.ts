// The playground in a real browser (Debian's Chromium), cut off from the internet: GraphiQL renders from the
// gateway's own files, takes an API key in its headers editor, and shows the answer to a query.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Locator, type Page, type Request } from 'playwright-core';
import { ADMIN_KEY, startTestPlatform, type TestPlatform } from '../support/platform';
import { skipUnlessAvailable } from '../support/requirements';

const CHROMIUM = '/usr/bin/chromium';
const QUERY = `{ viewer { name } models { nodes { name } } }`;
const skipBrowser = skipUnlessAvailable('chromium', fs.existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (apt-get install chromium)`);

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // No name resolves except the gateway's address, so the page sees what it would see offline.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

/** What the test reads of the page's globals (the project compiles without the DOM's types). */
interface InBrowser {
  localStorage: { getItem(key: string): string | null };
}

/**
 * Replaces an editor's text as a user pasting would: click, select all, insert. The key goes in this way, not
 * by seeding localStorage before the page loads, because this is the step the page asks users to take (and
 * it replaces the prefilled placeholder), while seeding would skip it and lean on how GraphiQL stores its
 * state. Inserting, rather than typing key by key, keeps the editor from auto-closing brackets and quotes.
 */
async function replaceText(page: Page, editor: Locator, text: string): Promise<void> {
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

/** The text an editor shows; CodeMirror renders some of its spaces as non-breaking ones. */
async function shownText(editor: Locator): Promise<string> {
  return (await editor.innerText()).replaceAll('\u00a0', ' ');
}

describe.skipIf(skipBrowser)('the GraphQL playground in a browser without internet', () => {
  let touchline: TestPlatform;
  let browser: Browser;
  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    const created = await touchline.gql(`mutation { createModel(input: {name: "xg"}) { model { name } } }`);
    expect(created.data?.createModel.model.name).toBe('xg');
  });
  afterAll(async () => {
    await browser?.close();
    await touchline?.destroy();
  });

  it('runs a query with a pasted API key, fetching nothing from anywhere but the gateway', async () => {
    const origin = new URL(touchline.url).origin;
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);

    const requests: Request[] = [];
    const failedLoads: string[] = [];
    const consoleErrors: string[] = [];
    const pageErrors: string[] = [];
    page.on('request', (request) => requests.push(request));
    page.on('requestfailed', (request) => failedLoads.push(`${request.url()}: ${request.failure()?.errorText}`));
    page.on('response', (response) => {
      if (response.status() < 400) return;
      const request = response.request();
      failedLoads.push(`${response.status()} ${request.method()} ${response.url()} (${request.headers().authorization ?? 'no key'})`);
    });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${message.text()} at ${message.location().url}`);
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // GraphiQL introspects as soon as it opens, with the placeholder key, and is refused: that is expected.
    const unexpectedFailedLoads = () => failedLoads.filter((failure) => !failure.endsWith(`${origin}/graphql (Bearer <your API key>)`));

    const opened = await page.goto(touchline.url);
    expect(opened?.headers()['content-type']).toMatch(/text\/html/);
    const queryEditor = page.getByLabel('Query Editor').locator('.CodeMirror');
    const headersEditor = page.getByLabel('Headers', { exact: true }).locator('.CodeMirror:visible');
    const result = page.getByLabel('Result Window').locator('.CodeMirror-code');
    await queryEditor.waitFor();
    expect(unexpectedFailedLoads(), 'every file of the page loads').toEqual([]);
    expect(await shownText(headersEditor)).toContain('Bearer <your API key>');

    await replaceText(page, headersEditor, JSON.stringify({ Authorization: `Bearer ${ADMIN_KEY}` }));
    await replaceText(page, queryEditor, QUERY);
    // GraphiQL works out which operation to run 100 ms after the last edit (a person is never that quick);
    // running sooner would send the welcome query's operation name, "Models", with this query. Its saving
    // the query to localStorage, in the same step, is the one outside sign that it is done.
    await page.waitForFunction((query) => (globalThis as unknown as InBrowser).localStorage.getItem('graphiql:query') === query, QUERY);
    await page.getByRole('button', { name: 'Execute query' }).click();

    await expect.poll(() => shownText(result), { timeout: 10_000 }).toContain('"xg"');
    expect(JSON.parse(await shownText(result))).toEqual({ data: { viewer: { name: 'bootstrap admin' }, models: { nodes: [{ name: 'xg' }] } } });

    // With the key, the schema (for the docs and autocompletion) loads too: GraphiQL's own introspection
    // query, deeper than a hand-written one, passes the gateway's query limits.
    const introspection = page.waitForResponse((response) => response.request().postData()?.includes('__schema') === true);
    await page.getByRole('button', { name: 'Re-fetch GraphQL schema' }).click();
    const schema = (await (await introspection).json()) as { data?: { __schema?: unknown }; errors?: unknown };
    expect(schema.errors).toBeUndefined();
    expect(schema.data?.__schema).toBeDefined();

    expect(requests.map((request) => request.url()).filter((url) => new URL(url).origin !== origin)).toEqual([]);
    expect(unexpectedFailedLoads()).toEqual([]);
    // Chromium logs every refused response ("Failed to load resource"), those above and its own request for
    // /favicon.ico; anything else (a script error, a CSP refusal, a missing stylesheet) means a broken page.
    expect(consoleErrors.filter((error) => !error.startsWith('Failed to load resource'))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('runs a subscription over a WebSocket with the same pasted key, and shows each event as it comes', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    const pageErrors: string[] = [];
    const consoleErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) consoleErrors.push(message.text());
    });
    await page.goto(touchline.url);
    const queryEditor = page.getByLabel('Query Editor').locator('.CodeMirror');
    const headersEditor = page.getByLabel('Headers', { exact: true }).locator('.CodeMirror:visible');
    const result = page.getByLabel('Result Window').locator('.CodeMirror-code');
    await queryEditor.waitFor();
    await replaceText(page, headersEditor, JSON.stringify({ Authorization: `Bearer ${ADMIN_KEY}` }));
    const subscription = 'subscription { jobUpdated { name state } }';
    await replaceText(page, queryEditor, subscription);
    await page.waitForFunction((query) => (globalThis as unknown as InBrowser).localStorage.getItem('graphiql:query') === query, subscription);
    const socket = page.waitForEvent('websocket');
    await page.getByRole('button', { name: 'Execute query' }).click();
    expect((await socket).url()).toBe(touchline.url.replace(/^http/, 'ws'));
    await new Promise((resolve) => setTimeout(resolve, 500));

    await touchline.gql(`mutation { submitJob(input: {name: "watched-in-the-browser", command: ["true"], nodeSelector: [{key: "pool", value: "none"}]}) { job { id } } }`);
    await expect.poll(() => shownText(result), { timeout: 10_000 }).toContain('watched-in-the-browser');
    expect(JSON.parse(await shownText(result))).toEqual({ data: { jobUpdated: { name: 'watched-in-the-browser', state: 'PENDING' } }, extensions: { sequence: '1' } });
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
