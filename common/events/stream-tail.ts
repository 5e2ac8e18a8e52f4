// Reads one stream for every subscriber of this process: one reader follows the log (woken by the bus, and polling
// in case an announcement was lost), turns each page of rows into events once, and hands them to the subscribers
// whose filter takes them. A subscriber that resumes (`after`) first replays the log from there on its own, then
// joins the live readers; each subscriber keeps its own position, so it gets every event once, in order.
import { BoundedQueue } from './bounded-queue';
import { oldestReplayable, readAfter, readHead, type StreamDefinition, type StreamRow } from './stream';
import { BadInputError, ErrorCode, TouchlineError } from '../graphql/errors';
import type { Database } from '../db/database';
import type { Logger } from '../logger';

export interface StreamTailOptions<TRow extends StreamRow, TEvent> {
  db: Database;
  stream: StreamDefinition<TRow>;
  logger: Logger;
  /** Turns a page of rows into the events subscribers get, one per row and in the same order (one read for all). */
  load(rows: TRow[]): Promise<TEvent[]>;
  sequenceOf(event: TEvent): number;
  /** How often to look for new events when no announcement came. */
  pollMs?: number;
  /** How far back (in events) a subscriber may resume. */
  replayWindow?: number;
  pageSize?: number;
}

export interface SubscribeOptions<TEvent> {
  /** Resume after this event number; without it, only events from now on. */
  after?: number;
  /** Which events this subscriber wants. */
  accept(event: TEvent): boolean;
  /** How many events may wait for this subscriber before it is cut off as too slow. */
  limit: number;
}

interface Subscriber<TEvent> {
  queue: BoundedQueue<TEvent>;
  /** The number of the last event this subscriber has been given or passed over. */
  position: number;
  /** Whether it takes events from the live reader (false while it replays). */
  live: boolean;
  accept(event: TEvent): boolean;
}

export class StreamTooOldError extends TouchlineError {
  constructor(stream: string, after: number, oldest: number) {
    super(
      `${stream}: cannot resume after ${after}: events before ${oldest + 1} are beyond the replay window. ` +
        'Query the current state, then subscribe without after.',
      ErrorCode.STREAM_TOO_OLD,
      { oldest: String(oldest) },
    );
  }
}

export class StreamTail<TRow extends StreamRow, TEvent> {
  private readonly subscribers = new Set<Subscriber<TEvent>>();
  private position = 0;
  private starting: Promise<void> | undefined;
  private draining = false;
  private drainAgain = false;
  private timer: NodeJS.Timeout | undefined;
  private stopListening: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly options: StreamTailOptions<TRow, TEvent>) {}

  /** A subscriber's events, as an async generator; ending it (return) unsubscribes. */
  async subscribe(options: SubscribeOptions<TEvent>): Promise<BoundedQueue<TEvent>> {
    await (this.starting ??= this.start());
    const { after } = options;
    if (after !== undefined) {
      const head = Math.max(this.position, await readHead(this.options.db.manager, this.options.stream.name));
      const oldest = oldestReplayable(head, this.options.replayWindow ?? 10_000);
      if (!Number.isSafeInteger(after) || after < 0) throw new BadInputError('after', 'must be a sequence number received from this subscription');
      if (after > head) throw new BadInputError('after', `${after} is ahead of the stream, whose newest event is ${head}`);
      if (after < oldest) throw new StreamTooOldError(this.options.stream.name, after, oldest);
    }
    const subscriber: Subscriber<TEvent> = {
      queue: new BoundedQueue<TEvent>({
        limit: options.limit,
        onClose: () => this.subscribers.delete(subscriber),
        positionOf: (event) => String(this.options.sequenceOf(event)),
      }),
      position: after ?? this.position,
      live: after === undefined,
      accept: options.accept,
    };
    this.subscribers.add(subscriber);
    if (!subscriber.live) {
      this.replay(subscriber).catch((error: unknown) => {
        this.options.logger.warn({ err: error, stream: this.options.stream.name }, 'could not replay a stream to a subscriber');
        subscriber.queue.fail(error);
      });
    }
    return subscriber.queue;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.stopListening?.();
    for (const subscriber of this.subscribers) subscriber.queue.end();
    this.subscribers.clear();
  }

  private async start(): Promise<void> {
    const { db, stream } = this.options;
    this.position = await readHead(db.manager, stream.name);
    this.stopListening = db.bus.listen(stream.name, (head) => {
      if (head > this.position) void this.drain();
    });
    this.timer = setInterval(() => void this.drain(), this.options.pollMs ?? 1_000);
    this.timer.unref();
  }

  /** Reads what is new since the live position and gives it to the live subscribers. One read at a time. */
  private async drain(): Promise<void> {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.drainAgain = false;
        for (;;) {
          if (this.stopped) return;
          const page = await this.readPage(this.position);
          if (page.length === 0) break;
          for (const event of page) {
            const sequence = this.options.sequenceOf(event);
            for (const subscriber of this.subscribers) {
              if (!subscriber.live || sequence <= subscriber.position) continue;
              subscriber.position = sequence;
              if (subscriber.accept(event)) subscriber.queue.push(event);
            }
            this.position = sequence;
          }
          if (page.length < (this.options.pageSize ?? 500)) break;
        }
      } while (this.drainAgain);
    } catch (error) {
      this.options.logger.warn({ err: error, stream: this.options.stream.name }, 'could not read a stream; trying again at the next poll');
    } finally {
      this.draining = false;
    }
  }

  /**
   * Replays the log to one subscriber until it reaches the live position, then makes it live. Nothing is awaited
   * between the check and the switch, so no event falls between replay and live.
   */
  private async replay(subscriber: Subscriber<TEvent>): Promise<void> {
    for (;;) {
      if (this.stopped || !this.subscribers.has(subscriber)) return;
      if (subscriber.position >= this.position) {
        subscriber.live = true;
        return;
      }
      const page = await this.readPage(subscriber.position);
      if (page.length === 0) {
        subscriber.live = true;
        return;
      }
      for (const event of page) {
        subscriber.position = this.options.sequenceOf(event);
        if (!subscriber.accept(event)) continue;
        // A replay goes at the subscriber's pace: the log keeps the events until it is ready for them.
        await subscriber.queue.room();
        if (!subscriber.queue.push(event)) return;
      }
    }
  }

  private async readPage(after: number): Promise<TEvent[]> {
    const rows = await readAfter(this.options.db.manager, this.options.stream, after, this.options.pageSize ?? 500);
    return rows.length === 0 ? [] : this.options.load(rows);
  }
}

/** A subscription's `after` argument as a stream position, or BAD_USER_INPUT naming it. */
export function parseAfter(after: string | null | undefined): number | undefined {
  if (after == null) return undefined;
  if (!/^\d{1,15}$/.test(after)) throw new BadInputError('after', `"${after.slice(0, 40)}" is not a sequence received from this subscription`);
  return Number(after);
}
