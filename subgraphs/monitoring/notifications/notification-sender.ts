// Sends the deliveries the evaluation rounds wrote: on the one instance holding the sender's lease, every second (or
// at once when a round wrote some), each due delivery is POSTed, signed, to its channel; every attempt is recorded; a
// failure that may pass (no answer, a timeout, 408, 429, 5xx) is retried with exponential backoff and jitter until
// the attempts run out, one the receiver means (another 4xx, a redirect) fails the delivery at once. Delivery is
// at least once: an instance that dies between a POST and its record sends it again, with the same delivery id.
import { randomUUID } from 'node:crypto';
import { In, LessThanOrEqual, type EntityManager } from 'typeorm';
import type { WebhookSettings } from '../../../common/config';
import type { Database } from '../../../common/db/database';
import { Lease, LeasedLoop } from '../../../common/db/lease';
import type { Logger } from '../../../common/logger';
import { MetricsLease } from '../metrics/metric.entity';
import type { MonitoringObserver } from '../monitoring-metrics';
import { DeliveryStatus, NotificationAttempt, NotificationChannel, NotificationDelivery } from './notification.entity';
import { ATTEMPT_HEADER, DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook } from './webhook-signature';

const LEASE_NAME = 'notification-delivery';
const INTERVAL_MS = 1_000;
/** Deliveries taken per round, and POSTs in flight at once. */
const BATCH = 100;
const CONCURRENCY = 8;
const ERROR_TEXT = 300;

interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** Whether it may succeed if tried again. */
  retryable: boolean;
  /** A wait the receiver asked for (Retry-After), in milliseconds. */
  retryAfterMs?: number;
}

export class NotificationSender {
  private readonly loop: LeasedLoop;
  /** A wake-up for a retry due before the next round. */
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly settings: Readonly<WebhookSettings>,
    private readonly logger: Logger,
    private readonly observer?: MonitoringObserver,
  ) {
    this.loop = new LeasedLoop(new Lease(db, MetricsLease, LEASE_NAME, randomUUID()), INTERVAL_MS, async () => void (await this.round()), (error) =>
      logger.error({ err: error }, 'sending notifications failed; retrying in a second'),
    );
  }

  start(): void {
    this.loop.start();
  }

  /** Looks for due deliveries now (an evaluation round just wrote some). */
  wake(): void {
    this.loop.wake();
  }

  stop(): Promise<void> {
    clearTimeout(this.retryTimer);
    return this.loop.stop();
  }

  /** Sends every delivery due now; returns how many attempts it made. */
  async round(now = new Date()): Promise<number> {
    const due = await this.db.manager.find(NotificationDelivery, {
      where: { status: DeliveryStatus.PENDING, nextAttemptAt: LessThanOrEqual(now) },
      order: { nextAttemptAt: 'ASC' },
      take: BATCH,
    });
    if (due.length === 0) return 0;
    const channels = new Map(
      (await this.db.manager.findBy(NotificationChannel, { id: In([...new Set(due.map((delivery) => delivery.channelId))]) })).map((channel) => [channel.id, channel]),
    );
    let next = 0;
    const worker = async () => {
      while (next < due.length) {
        const delivery = due[next++]!;
        await this.attempt(delivery, channels.get(delivery.channelId));
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, due.length) }, worker));
    this.wakeForRetries(due);
    return due.length;
  }

  /** Backoffs shorter than the interval are kept to: a wake-up at the earliest retry due. */
  private wakeForRetries(attempted: readonly NotificationDelivery[]): void {
    const retries = attempted.filter((delivery) => delivery.status === DeliveryStatus.PENDING && delivery.nextAttemptAt);
    if (retries.length === 0) return;
    const soonest = Math.min(...retries.map((delivery) => delivery.nextAttemptAt!.getTime()));
    const delayMs = Math.max(0, soonest - Date.now());
    if (delayMs >= INTERVAL_MS) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.loop.wake(), delayMs);
    this.retryTimer.unref();
  }

  private async attempt(delivery: NotificationDelivery, channel: NotificationChannel | undefined): Promise<void> {
    const number = delivery.attemptCount + 1;
    const outcome: AttemptOutcome =
      channel && channel.enabled
        ? await post(channel, delivery, number, this.settings.timeoutSeconds * 1000)
        : { statusCode: null, error: channel ? 'the channel was disabled before delivery' : 'the channel was deleted', durationMs: 0, retryable: false };
    const at = new Date();
    const delivered = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
    const givesUp = !delivered && (!outcome.retryable || number >= this.settings.maxAttempts);
    const changes: Partial<NotificationDelivery> = {
      attemptCount: number,
      status: delivered ? DeliveryStatus.DELIVERED : givesUp ? DeliveryStatus.FAILED : DeliveryStatus.PENDING,
      lastError: delivered ? null : outcome.error,
      deliveredAt: delivered ? at : null,
      nextAttemptAt: delivered || givesUp ? null : new Date(at.getTime() + this.backoffMs(number, outcome.retryAfterMs)),
    };
    await this.db.transaction(async (em: EntityManager) => {
      await em.insert(NotificationAttempt, {
        id: randomUUID(),
        deliveryId: delivery.id,
        number,
        at,
        statusCode: outcome.statusCode,
        error: outcome.error,
        durationMs: outcome.durationMs,
      });
      await em.update(NotificationDelivery, { id: delivery.id }, changes);
    });
    Object.assign(delivery, changes);
    this.observer?.attempted(delivered ? 'delivered' : givesUp ? 'failed' : 'retrying');
    const fields = { delivery: delivery.id, channel: channel?.name, attempt: number, statusCode: outcome.statusCode };
    if (delivered) this.logger.info(fields, 'notification delivered');
    else if (givesUp) this.logger.error({ ...fields, error: outcome.error }, 'notification not delivered: giving up (see the channel\'s deliveries)');
    else this.logger.warn({ ...fields, error: outcome.error, nextAttemptAt: changes.nextAttemptAt }, 'notification attempt failed; will retry');
  }

  /** The wait before attempt `failed + 1`: the base doubled per failure, ±20% jitter, at most the maximum. */
  private backoffMs(failed: number, retryAfterMs: number | undefined): number {
    const maxMs = this.settings.retryMaxSeconds * 1000;
    const exponential = Math.min(maxMs, this.settings.retryBaseMs * 2 ** (failed - 1));
    const jittered = exponential * (0.8 + Math.random() * 0.4);
    return Math.min(maxMs, Math.max(jittered, retryAfterMs ?? 0));
  }
}

async function post(channel: NotificationChannel, delivery: NotificationDelivery, attempt: number, timeoutMs: number): Promise<AttemptOutcome> {
  const started = performance.now();
  const durationMs = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    const response = await fetch(channel.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Touchline-Alerting/1',
        [SIGNATURE_HEADER]: signWebhook(channel.secret, delivery.body, Math.floor(Date.now() / 1000)),
        [DELIVERY_HEADER]: delivery.id,
        [ATTEMPT_HEADER]: String(attempt),
      },
      body: delivery.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = (await response.text().catch(() => '')).slice(0, ERROR_TEXT);
    const statusCode = response.status;
    if (statusCode >= 200 && statusCode < 300) return { statusCode, error: null, durationMs: durationMs(), retryable: false };
    if (statusCode >= 300 && statusCode < 400) {
      return { statusCode, error: `redirects are not followed: point the channel at ${response.headers.get('location') ?? 'the final address'}`, durationMs: durationMs(), retryable: false };
    }
    const retryable = statusCode === 408 || statusCode === 425 || statusCode === 429 || statusCode >= 500;
    return { statusCode, error: `HTTP ${statusCode}${text ? `: ${text}` : ''}`, durationMs: durationMs(), retryable, retryAfterMs: retryAfter(response.headers.get('retry-after')) };
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const message = timedOut ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error)));
    return { statusCode: null, error: message, durationMs: durationMs(), retryable: true };
  }
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now. */
function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
