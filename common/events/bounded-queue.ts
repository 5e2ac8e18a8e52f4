// A subscriber's events on their way out: a queue with a bound, read as an async generator. A reader slower than
// its events does not slow anyone else down: once it is `limit` events behind, the queue fails with
// SlowConsumerError, which says where the reader got to so that it can resume from there. A producer that can wait
// (a replay from the log) waits for room instead (`room`).
import { ErrorCode, TouchlineError } from '../graphql/errors';

export class SlowConsumerError extends TouchlineError {
  constructor(
    readonly limit: number,
    /** The sequence of the last event the reader took, if the events have one. */
    readonly lastDelivered: string | undefined,
  ) {
    super(
      `This subscriber fell more than ${limit} events behind and was cut off so that others are not held up. ` +
        (lastDelivered !== undefined
          ? `Subscribe again with after: "${lastDelivered}" to resume where it stopped.`
          : 'Subscribe again (with after: set to the last sequence received) to resume.'),
      ErrorCode.SLOW_CONSUMER,
      lastDelivered !== undefined ? { lastDelivered } : {},
    );
  }
}

export interface BoundedQueueOptions<T> {
  /** How many items may wait; one more fails the queue with SlowConsumerError. */
  limit: number;
  /** Called once when the reader stops: it returned, failed, or the queue was ended. */
  onClose?(): void;
  /** Called when the queue fails for being full (before the reader sees the error). */
  onOverflow?(error: SlowConsumerError): void;
  /** The resume point of an item, for the message of SlowConsumerError. */
  positionOf?(item: T): string | undefined;
  /** Called each time the reader takes an item, with how many are left. */
  onTake?(left: number): void;
}

export class BoundedQueue<T> implements AsyncGenerator<T, undefined, unknown> {
  private readonly items: T[] = [];
  private waiting: ((result: IteratorResult<T, undefined>) => void) | undefined;
  private failWaiting: ((error: unknown) => void) | undefined;
  private failure: unknown;
  private ended = false;

  private readonly limit: number;

  constructor(private readonly options: BoundedQueueOptions<T>) {
    this.limit = options.limit;
  }

  private lastTaken: string | undefined;

  /** Adds an item; past the bound, fails the queue instead. Returns false once the queue no longer takes items. */
  push(item: T): boolean {
    if (this.ended || this.failure !== undefined) return false;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = undefined;
      this.lastTaken = this.options.positionOf?.(item) ?? this.lastTaken;
      resolve({ value: item, done: false });
      return true;
    }
    if (this.items.length >= this.limit) {
      const error = new SlowConsumerError(this.limit, this.lastTaken);
      this.fail(error);
      this.options.onOverflow?.(error);
      return false;
    }
    this.items.push(item);
    return true;
  }

  /** Fails the queue: the reader gets the items already queued, then `error`. */
  fail(error: unknown): void {
    if (this.ended || this.failure !== undefined) return;
    this.failure = error;
    this.wakeRoomWaiters();
    // A reader cut off for being slow gets the error at once: the queued items are what it could not keep up with.
    if (error instanceof SlowConsumerError) this.items.length = 0;
    if (this.failWaiting) {
      const reject = this.failWaiting;
      this.waiting = this.failWaiting = undefined;
      this.close();
      reject(error);
    }
  }

  /** Ends the queue: the reader gets the items already queued, then the end. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wakeRoomWaiters();
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = undefined;
      this.close();
      resolve({ value: undefined, done: true });
    }
  }

  get length(): number {
    return this.items.length;
  }

  private roomWaiters: (() => void)[] = [];

  /** Resolves once the queue has room for one more item (or no longer takes items). */
  room(): Promise<void> {
    if (this.items.length < this.limit || this.ended || this.failure !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private wakeRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.items.length > 0) {
      const item = this.items.shift()!;
      this.lastTaken = this.options.positionOf?.(item) ?? this.lastTaken;
      this.wakeRoomWaiters();
      this.options.onTake?.(this.items.length);
      return Promise.resolve({ value: item, done: false });
    }
    if (this.failure !== undefined) {
      this.close();
      return Promise.reject(this.failure);
    }
    if (this.ended) {
      this.close();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.ended = true;
    this.items.length = 0;
    const resolve = this.waiting;
    this.waiting = this.failWaiting = undefined;
    resolve?.({ value: undefined, done: true });
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<T, undefined>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  private closed = false;

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wakeRoomWaiters();
    this.options.onClose?.();
  }
}
