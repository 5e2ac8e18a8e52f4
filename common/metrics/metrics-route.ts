// `GET /metrics` for Prometheus: with a token configured, only `Authorization: Bearer <token>` may scrape; without
// one, only clients on this machine (loopback) may, so that metrics never answer strangers unauthenticated.
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { HttpRequest, HttpResponse, Route } from '../http/server';
import type { ServiceMetrics } from './service-metrics';

export const METRICS_PATH = '/metrics';

export function metricsRoute(metrics: ServiceMetrics, token: string | undefined): Route {
  const expected = token === undefined ? undefined : digest(token);
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return text(405, 'Use GET /metrics\n', { allow: 'GET, HEAD' });
    }
    const refusal = expected ? checkToken(request, expected) : checkLoopback(request);
    if (refusal) return refusal;
    const { contentType, body } = await metrics.scrape();
    return { status: 200, headers: { 'content-type': contentType, 'cache-control': 'no-store' }, body: request.method === 'HEAD' ? '' : body };
  };
}

function checkToken(request: HttpRequest, expected: Buffer): HttpResponse | undefined {
  const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
  // Compared as digests of equal length, so that neither the content nor the length of the token leaks through timing.
  if (match && timingSafeEqual(digest(match[1]!), expected)) return undefined;
  return text(401, 'Metrics need `Authorization: Bearer <TOUCHLINE_METRICS_TOKEN>`\n', { 'www-authenticate': 'Bearer realm="touchline-metrics"' });
}

function checkLoopback(request: HttpRequest): HttpResponse | undefined {
  if (isLoopback(request.raw.socket.remoteAddress)) return undefined;
  return text(401, 'Metrics answer only on this machine unless TOUCHLINE_METRICS_TOKEN is set; set it and scrape with `Authorization: Bearer <token>`\n', {
    'www-authenticate': 'Bearer realm="touchline-metrics"',
  });
}

/** 127.0.0.0/8, ::1, and IPv4 loopback written as an IPv6-mapped address. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function text(status: number, body: string, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body };
}
