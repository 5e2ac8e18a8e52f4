// A small HTTP server for every service: exact routes, a bounded request body, JSON errors and request logs.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger';
import { ErrorCode } from '../graphql/errors';
import { METRICS_PATH, metricsRoute } from '../metrics/metrics-route';
import type { ServiceMetrics } from '../metrics/service-metrics';

export interface HttpRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  requestId: string;
  raw: http.IncomingMessage;
  /** The whole body; rejects with PayloadTooLargeError past the server's limit. */
  readBody(): Promise<Buffer>;
}

export interface HttpResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer | AsyncIterable<string>;
}

export type Route = (request: HttpRequest) => Promise<HttpResponse> | HttpResponse;

export interface HttpServiceOptions {
  host: string;
  port: number;
  logger: Logger;
  maxBodyBytes: number;
  /** Exact paths (`/graphql`) or prefixes ending in a slash (`/playground/`). */
  routes: Record<string, Route>;
  /** Counts every request in these metrics and serves them at `GET /metrics` (behind the token, when set). */
  metrics?: { service: ServiceMetrics; token: string | undefined };
}

export interface HttpService {
  readonly server: http.Server;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export class PayloadTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`Request body is larger than the limit of ${limit} bytes`);
  }
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(value) };
}

/** A response shaped like a GraphQL result, for requests refused before GraphQL runs. */
export function graphqlError(status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}): HttpResponse {
  return json(status, { errors: [{ message, extensions: { code } }] }, headers);
}

export async function startHttpService(options: HttpServiceOptions): Promise<HttpService> {
  const { logger, metrics } = options;
  const routes = metrics ? { ...options.routes, [METRICS_PATH]: metricsRoute(metrics.service, metrics.token) } : options.routes;
  const exact = new Map(Object.entries(routes).filter(([path]) => !path.endsWith('/') || path === '/'));
  const prefixes = Object.entries(routes).filter(([path]) => path.endsWith('/') && path !== '/');

  const server = http.createServer((raw, res) => {
    const started = process.hrtime.bigint();
    const requestId = validRequestId(raw.headers['x-request-id']) ?? randomUUID();
    const url = new URL(raw.url ?? '/', 'http://localhost');
    const matched: [string, Route] | undefined = exact.has(url.pathname)
      ? [url.pathname, exact.get(url.pathname)!]
      : prefixes.find(([prefix]) => url.pathname.startsWith(prefix));
    const route = matched?.[1];
    const observe = (status: number) =>
      metrics?.service.observeRequest(matched?.[0] ?? 'unmatched', request.method, status, Number(process.hrtime.bigint() - started) / 1e9);
    const request: HttpRequest = {
      method: raw.method ?? 'GET',
      url,
      headers: raw.headers,
      requestId,
      raw,
      readBody: () => readBody(raw, options.maxBodyBytes),
    };

    const respond = async (): Promise<HttpResponse> => {
      if (!route) return json(404, { error: `No such path: ${url.pathname}` });
      try {
        return await route(request);
      } catch (error) {
        if (error instanceof PayloadTooLargeError) {
          return graphqlError(413, ErrorCode.PAYLOAD_TOO_LARGE, error.message);
        }
        logger.error({ err: error, requestId, path: url.pathname }, 'request handler failed');
        return graphqlError(500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
      }
    };

    void respond().then(
      (response) => write(res, requestId, response).finally(() => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        observe(response.status);
        logger.debug({ requestId, method: request.method, path: url.pathname, status: response.status, ms }, 'request');
      }),
      (error: unknown) => {
        logger.error({ err: error, requestId }, 'could not answer a request');
        observe(500);
        res.destroy();
      },
    );
  });
  // Longer than the gateway's idle keep-alive, so a pooled connection is never closed under a request in flight.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 120_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const displayHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;

  return {
    server,
    port,
    url: `http://${displayHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      }),
  };
}

function validRequestId(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && /^[\w.:-]{1,128}$/.test(value) ? value : undefined;
}

function readBody(raw: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(raw.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    raw.resume();
    return Promise.reject(new PayloadTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    raw.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        raw.removeAllListeners('data');
        raw.resume();
        reject(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    raw.on('end', () => resolve(Buffer.concat(chunks)));
    raw.on('error', reject);
  });
}

async function write(res: http.ServerResponse, requestId: string, response: HttpResponse): Promise<void> {
  res.statusCode = response.status;
  res.setHeader('x-request-id', requestId);
  for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
  const body = response.body;
  if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
    res.end(body);
    return;
  }
  for await (const chunk of body) res.write(chunk);
  res.end();
}
