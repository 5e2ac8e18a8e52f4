// A lease: work that one instance of a service does at a time (the scheduler's control loop, metric compaction).
// The holder keeps a row naming it and renews its expiry while it works; another instance takes over once the row
// has expired, so the work survives an instance that dies without saying so.
import type { EntityTarget } from 'typeorm';
import { forUpdate, type Database } from './database';

/** A lease table's row: the lease's name, who holds it, and until when. */
export interface LeaseRow {
  name: string;
  holder: string;
  expiresAt: Date;
}

export class Lease {
  constructor(
    private readonly db: Database,
    private readonly table: EntityTarget<LeaseRow>,
    readonly name: string,
    readonly holder: string,
  ) {}

  /**
   * Takes or renews the lease for `ttlMs`; false while another instance holds it. `onTakeOver` hears of the holder
   * whose lease this one took over after it expired.
   */
  hold(ttlMs: number, onTakeOver?: (previous: string) => void): Promise<boolean> {
    return this.db.transaction(async (em) => {
      const now = new Date();
      const expiresAt = new Date(now.getTime() + ttlMs);
      const lease = await em.findOne(this.table, { where: { name: this.name }, lock: forUpdate(em) });
      if (!lease) {
        await em.insert(this.table, { name: this.name, holder: this.holder, expiresAt });
        return true;
      }
      if (lease.holder !== this.holder && lease.expiresAt > now) return false;
      if (lease.holder !== this.holder) onTakeOver?.(lease.holder);
      await em.update(this.table, { name: this.name }, { holder: this.holder, expiresAt });
      return true;
    });
  }

  /** Gives the lease up (when this instance stops), so another may take it at once; nothing if it is not held. */
  async release(): Promise<void> {
    await this.db.transaction((em) => em.delete(this.table, { name: this.name, holder: this.holder })).catch(() => undefined);
  }
}

/**
 * Work done every `intervalMs` by whichever instance holds `lease` (renewed for three intervals each round, so one
 * missed round does not hand it over). A round that fails is reported and tried again at the next interval.
 */
export class LeasedLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wakeAfterRound = false;

  constructor(
    private readonly lease: Lease,
    private readonly intervalMs: number,
    private readonly work: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    this.schedule();
  }

  /** Waits for a round under way, then gives the lease up. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.lease.release();
  }

  /** Runs a round as soon as the one under way (if any) ends, rather than at the next interval. */
  wake(): void {
    if (this.stopped || this.running) {
      this.wakeAfterRound = !this.stopped;
      return;
    }
    this.schedule(0);
  }

  private schedule(delayMs = this.intervalMs): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch(this.onError)
        .finally(() => {
          this.running = undefined;
          const soon = this.wakeAfterRound;
          this.wakeAfterRound = false;
          if (!this.stopped) this.schedule(soon ? 0 : this.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    if (await this.lease.hold(3 * this.intervalMs)) await this.work();
  }
}
