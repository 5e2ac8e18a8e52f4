// How webhook notifications are signed, and how a receiver checks them: `X-Touchline-Signature: t=<unix seconds>,
// v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the channel's secret>` (the scheme Stripe uses). The timestamp in the
// signed text lets a receiver refuse a replayed request; comparing in constant time keeps the key from leaking.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-touchline-signature';
export const DELIVERY_HEADER = 'x-touchline-delivery';
export const ATTEMPT_HEADER = 'x-touchline-attempt';

export function signWebhook(secret: string, body: string, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${hmac(secret, timestampSeconds, body)}`;
}

export interface VerifyOptions {
  /** How far the signature's time may be from now (default five minutes). */
  toleranceSeconds?: number;
  nowSeconds?: number;
}

/** Whether `header` is a valid signature of `body` (the raw bytes as received) made with `secret` recently. */
export function verifyWebhook(secret: string, body: string, header: string | undefined, options: VerifyOptions = {}): boolean {
  if (!header) return false;
  const fields = new Map(header.split(',').map((part) => part.trim().split('=', 2) as [string, string]));
  const timestamp = Number(fields.get('t'));
  const signature = fields.get('v1');
  if (!Number.isSafeInteger(timestamp) || !signature || !/^[0-9a-f]{64}$/.test(signature)) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  return timingSafeEqual(Buffer.from(signature, 'hex'), Buffer.from(hmac(secret, timestamp, body), 'hex'));
}

function hmac(secret: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
}
