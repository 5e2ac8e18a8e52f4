// The doorbell between processes: after a transaction appends to a stream, the bus announces the stream's new head
// to every process that reads the stream, so that they read the new events from the log at once. The log, not the
// bus, carries the events: an announcement lost (Redis restarting, a process reconnecting) only delays readers until
// their next poll, it never loses or reorders an event. In the embedded mode the bus is in memory; with several
// instances of a service, Redis pub/sub.
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { Logger } from '../logger';

export type HeadListener = (head: number) => void;

export interface StreamBus {
  /** Says that `stream`'s head is now `head` (fire and forget). */
  announce(stream: string, head: number): void;
  /** Calls `listener` with each head announced for `stream`, here or elsewhere; returns the unsubscribe. */
  listen(stream: string, listener: HeadListener): () => void;
  close(): Promise<void>;
}

/** One process: announcements reach the listeners of this process only. */
export class MemoryBus implements StreamBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  announce(stream: string, head: number): void {
    this.emitter.emit(stream, head);
  }

  listen(stream: string, listener: HeadListener): () => void {
    this.emitter.on(stream, listener);
    return () => this.emitter.off(stream, listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

const CHANNEL_PREFIX = 'touchline:stream:';

/** Several processes: announcements go through Redis pub/sub, to every process listening, this one included. */
export class RedisBus implements StreamBus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly local = new MemoryBus();
  private readonly channels = new Map<string, number>();

  constructor(url: string, keyPrefix: string, private readonly logger: Logger) {
    const options = { lazyConnect: false, maxRetriesPerRequest: null, enableOfflineQueue: true };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    const prefix = `${CHANNEL_PREFIX}${keyPrefix}`;
    this.channel = (stream) => `${prefix}${stream}`;
    for (const client of [this.publisher, this.subscriber]) {
      // ioredis reconnects by itself; say so once per failure, without the URL (it may hold a password).
      client.on('error', (error: Error) => logger.warn({ err: { message: error.message } }, 'redis: connection trouble, reconnecting'));
    }
    this.subscriber.on('message', (channel: string, message: string) => {
      if (!channel.startsWith(prefix)) return;
      const head = Number(message);
      if (Number.isSafeInteger(head)) this.local.announce(channel.slice(prefix.length), head);
    });
  }

  private readonly channel: (stream: string) => string;

  announce(stream: string, head: number): void {
    this.publisher.publish(this.channel(stream), String(head)).catch((error: unknown) => {
      this.logger.warn({ err: error, stream }, 'redis: could not announce a stream head; readers will see it at their next poll');
    });
  }

  listen(stream: string, listener: HeadListener): () => void {
    const count = this.channels.get(stream) ?? 0;
    this.channels.set(stream, count + 1);
    if (count === 0) {
      this.subscriber.subscribe(this.channel(stream)).catch((error: unknown) => {
        this.logger.warn({ err: error, stream }, 'redis: could not subscribe; readers fall back to polling');
      });
    }
    const stop = this.local.listen(stream, listener);
    return () => {
      stop();
      const left = (this.channels.get(stream) ?? 1) - 1;
      this.channels.set(stream, left);
      if (left === 0) void this.subscriber.unsubscribe(this.channel(stream)).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    await this.local.close();
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}
