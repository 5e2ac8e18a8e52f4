// The GraphQL playground: GraphiQL, served by the gateway from its own files so that it works offline.
import fs from 'node:fs';
import path from 'node:path';
import type { HttpResponse, Route } from '../common/http/server';

export const PLAYGROUND_PREFIX = '/playground/';

const packageDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));

const ASSETS: Record<string, { file: () => string; type: string }> = {
  'react.js': { file: () => path.join(packageDir('react'), 'umd/react.production.min.js'), type: 'text/javascript' },
  'react-dom.js': { file: () => path.join(packageDir('react-dom'), 'umd/react-dom.production.min.js'), type: 'text/javascript' },
  'graphiql.js': { file: () => path.join(packageDir('graphiql'), 'graphiql.min.js'), type: 'text/javascript' },
  'graphiql.css': { file: () => path.join(packageDir('graphiql'), 'graphiql.min.css'), type: 'text/css' },
  'graphql-ws.js': { file: () => path.join(packageDir('graphql-ws'), 'umd/graphql-ws.min.js'), type: 'text/javascript' },
};

const DEFAULT_QUERY = `# Welcome to Touchline.
# 1. Paste your API key into the Authorization header below (Headers tab).
# 2. Run this query with the play button (or Ctrl-Enter).
# 3. Click "Re-fetch GraphQL schema" (the circular arrow, bottom left) to load the docs and autocompletion.
# Subscriptions run here too (over a WebSocket): try
#   subscription { jobUpdated { id name state node { name } modelVersion { version model { name } } } }

query Models {
  viewer { name role }
  models(first: 10) {
    nodes {
      name
      sport
      latestVersion { version stage }
      aliases { name modelVersion { version } }
    }
  }
}
`;

// Queries and mutations go over HTTP with the headers from the Headers tab; subscriptions over graphql-ws, whose
// connection carries the same Authorization value in connection_init (one connection per distinct value).
const APP = `
const root = document.getElementById('graphiql');
const http = GraphiQL.createFetcher({ url: '/graphql' });
const wsUrl = location.origin.replace(/^http/, 'ws') + '/graphql';
const wsClients = new Map();
function wsClient(authorization) {
  let client = wsClients.get(authorization);
  if (!client) {
    client = graphqlWs.createClient({ url: wsUrl, connectionParams: { authorization }, retryAttempts: 3 });
    wsClients.set(authorization, client);
  }
  return client;
}
function isSubscription(params, options) {
  const definitions = (options && options.documentAST && options.documentAST.definitions) || [];
  const operations = definitions.filter((d) => d.kind === 'OperationDefinition');
  const chosen = operations.find((d) => d.name && d.name.value === params.operationName) || operations[0];
  return Boolean(chosen && chosen.operation === 'subscription');
}
function fetcher(params, options) {
  if (!isSubscription(params, options)) return http(params, options);
  const headers = (options && options.headers) || {};
  const authorization = headers.Authorization || headers.authorization || '';
  const client = wsClient(authorization);
  return {
    subscribe(observer) {
      const dispose = client.subscribe(params, {
        next: (value) => observer.next(value),
        error: (error) => observer.error(error instanceof Error ? error : new Error(error && error.reason ? 'Connection closed: ' + error.code + ' ' + error.reason : JSON.stringify(error))),
        complete: () => observer.complete(),
      });
      return { unsubscribe: dispose };
    },
  };
}
ReactDOM.createRoot(root).render(React.createElement(GraphiQL, {
  fetcher,
  defaultQuery: ${JSON.stringify(DEFAULT_QUERY)},
  defaultHeaders: JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2),
  defaultEditorToolsVisibility: 'headers',
  shouldPersistHeaders: true,
}));
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Touchline GraphQL playground</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="${PLAYGROUND_PREFIX}graphiql.css">
  <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading the playground...</div>
  <script src="${PLAYGROUND_PREFIX}react.js"></script>
  <script src="${PLAYGROUND_PREFIX}react-dom.js"></script>
  <script src="${PLAYGROUND_PREFIX}graphiql.js"></script>
  <script src="${PLAYGROUND_PREFIX}graphql-ws.js"></script>
  <script src="${PLAYGROUND_PREFIX}app.js"></script>
</body>
</html>
`;

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Whether a GET request comes from a browser that wants a page rather than a GraphQL answer. */
export function wantsPlayground(method: string, accept: string | undefined): boolean {
  return method === 'GET' && (accept ?? '').includes('text/html');
}

export function playgroundPage(): HttpResponse {
  return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS }, body: PAGE };
}

/** Serves the playground's static files; read once, on first use. */
export function playgroundAssets(): Route {
  const loaded = new Map<string, { body: Buffer | string; type: string }>();
  return (request) => {
    const name = request.url.pathname.slice(PLAYGROUND_PREFIX.length);
    if (name === 'app.js') return { status: 200, headers: { 'content-type': 'text/javascript; charset=utf-8', ...SECURITY_HEADERS }, body: APP };
    const asset = ASSETS[name];
    if (!asset) return { status: 404, body: 'Not found' };
    let entry = loaded.get(name);
    if (!entry) {
      entry = { body: fs.readFileSync(asset.file()), type: asset.type };
      loaded.set(name, entry);
    }
    return {
      status: 200,
      headers: { 'content-type': `${entry.type}; charset=utf-8`, 'cache-control': 'public, max-age=86400', ...SECURITY_HEADERS },
      body: entry.body,
    };
  };
}
