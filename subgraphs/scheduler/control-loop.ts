// The scheduler's control loop: one instance at a time (a lease in the database) notices silent nodes, moves
// the jobs of lost nodes and of drains past their deadline, and places queued jobs. Mutations wake it up early.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { In, IsNull, LessThan, Not, type EntityManager } from 'typeorm';
import type { SchedulerSettings } from '../../common/config';
import { forUpdate, type Database } from '../../common/db/database';
import type { Logger } from '../../common/logger';
import { Lease } from '../../common/db/lease';
import { ACTIVE_ATTEMPT_STATES, AttemptState, JobAttempt, SchedulerLease } from './job/job.entity';
import { JobState } from './job/job-state';
import { nodeSnapshotOf, recordNodeChange } from './node/node-events';
import { Node, NodeHealth } from './node/node.entity';
import { requeue } from './node/node.service';
import { ClusterSnapshot, runPlacementCycle, type CycleReport, type QueuePosition } from './placement/placement-cycle';

const LEASE_NAME = 'control-loop';
const LEASE_MS = 10_000;
const IDLE_TICK_MS = 500;
/** Placement cycles run back to back while the queue holds more, for at most this long per tick. */
const PLACEMENT_BUDGET_MS = 2_000;
/** Jobs per placement cycle: many, so that a long queue costs few reads of the cluster, few decisions and few commits. */
const PLACEMENT_BATCH_SIZE = 10_000;
/**
 * After a tick that placed jobs, the next one waits this many times as long as that tick took (at most
 * MAX_PAUSE_MS), so that under a stream of submissions each tick places what arrived meanwhile in a few large batches
 * instead of a few jobs at the fixed cost of a tick (the lease, the housekeeping, reading the queue, walking again
 * through the jobs that fit nowhere). A small cluster's tick takes milliseconds, and so does its pause: a trickle of
 * jobs is placed at once. On 5,000 nodes, 100,000 jobs submitted while the loop runs (bench/scheduler.ts, PostgreSQL):
 * 1,400 jobs/s end to end without pauses (578 placement cycles), 3,000 with them (25 cycles), for a second more from
 * submission to placement at the median.
 */
const PAUSE_FACTOR = 3;
const MAX_PAUSE_MS = 2_000;

/** Who watches the loop work (the scheduler benchmark measures each placement cycle). */
export interface ControlLoopObserver {
  onCycle?(report: CycleReport): void;
}

export class ControlLoop {
  readonly holder = `${process.pid}-${randomUUID()}`;
  private readonly lease: Lease;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private wakeRequested = false;
  private stopped = false;
  /** When the next tick may start at the earliest (performance.now()), after one that placed jobs. */
  private pausedUntil = 0;
  /** Whether the last tick placed jobs and stopped at its budget with more of the queue to walk. */
  private moreToPlace = false;
  /** Where the last tick's walk stopped at its budget, for the next tick to go on from (see tick). */
  private resumeAt: QueuePosition | undefined;
  /** Whether the last tick preempted jobs, which now wait in the queue again. */
  private requeued = false;
  /** The nodes as the last cycle left them, kept between cycles and ticks (ClusterSnapshot says when it reads again). */
  private readonly snapshot = new ClusterSnapshot();

  constructor(
    private readonly db: Database,
    private readonly settings: SchedulerSettings,
    private readonly logger: Logger,
    private readonly observer: ControlLoopObserver = {},
  ) {
    this.lease = new Lease(db, SchedulerLease, LEASE_NAME, this.holder);
  }

  start(): void {
    this.schedule(0);
  }

  /** Runs a tick soon: something changed (a job submitted, a node freed resources). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wakeRequested = true;
      return;
    }
    this.schedule(this.paced());
  }

  /** How long until the next tick may start (see PAUSE_FACTOR). */
  private paced(): number {
    return Math.max(0, this.pausedUntil - performance.now());
  }

  /**
   * When the next tick runs: at once while the last one left work it made or could not finish (a queue longer than
   * its budget, jobs it preempted and requeued) and nothing new arrived; at the pace while submissions keep coming;
   * otherwise after IDLE_TICK_MS, to notice silent nodes and jobs whose backoff ended.
   */
  private nextTickIn(woken: boolean): number {
    if (this.moreToPlace) return 0;
    if (woken) return this.paced();
    return this.requeued ? 0 : Math.max(IDLE_TICK_MS, this.paced());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.lease.release();
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((error: unknown) => this.logger.error({ err: error }, 'scheduler control loop failed; retrying'))
        .finally(() => {
          this.running = undefined;
          if (this.stopped) return;
          const again = this.wakeRequested;
          this.wakeRequested = false;
          this.schedule(this.nextTickIn(again));
        });
    }, delayMs);
    this.timer.unref();
  }

  /** One pass: returns once nothing more is to be done right now. */
  async tick(): Promise<void> {
    const startedAt = performance.now();
    this.moreToPlace = false;
    this.requeued = false;
    if (!(await this.holdLease())) return;
    await this.markSilentNodes();
    await this.moveJobsOfLostNodes();
    await this.enforceDrainDeadlines();
    // Walk the whole queue, a batch at a time, so that a batch no node can take does not hold back the ones after it.
    // A queue longer than one tick can walk is walked over several: each starts at the top, for jobs that just
    // arrived there, then goes on where the last one stopped. Otherwise jobs that fit nowhere, queued ahead, would
    // use up every tick's budget and starve the jobs behind them.
    const deadline = Date.now() + PLACEMENT_BUDGET_MS;
    let after: QueuePosition | undefined;
    let placed = false;
    let preempted = false;
    do {
      const report = await runPlacementCycle(this.db, this.placementOptions, { after, batchSize: PLACEMENT_BATCH_SIZE, snapshot: this.snapshot });
      this.observer.onCycle?.(report);
      placed ||= report.placed > 0 || report.preempted > 0;
      preempted ||= report.preempted > 0;
      if (report.placed || report.preempted || report.conflicts) this.logger.debug({ ...report, next: undefined }, 'placement cycle');
      after = report.next && this.resumeAt && comesBefore(report.next, this.resumeAt) ? this.resumeAt : report.next;
      this.resumeAt = undefined;
    } while (after && Date.now() < deadline);
    this.resumeAt = after;
    if (placed) {
      const endedAt = performance.now();
      this.pausedUntil = endedAt + Math.min(MAX_PAUSE_MS, PAUSE_FACTOR * (endedAt - startedAt));
    }
    this.moreToPlace = placed && after !== undefined;
    this.requeued = preempted;
  }

  private get placementOptions() {
    return { strategy: this.settings.strategy, preemption: this.settings.preemption, preemptionPriorityGap: 10 };
  }

  /** Takes or renews the lease; false while another instance holds it. */
  private holdLease(): Promise<boolean> {
    return this.lease.hold(LEASE_MS, (previous) => this.logger.info({ previous }, 'took over the scheduler control loop'));
  }

  private async markSilentNodes(): Promise<void> {
    const silentSince = new Date(Date.now() - this.settings.heartbeatTimeoutSeconds * 1000);
    await this.db.transaction(async (em) => {
      const silent = await em.findBy(Node, { health: NodeHealth.READY, removedAt: IsNull(), lastHeartbeatAt: LessThan(silentSince) });
      for (const node of silent) {
        const { affected } = await em.update(Node, { id: node.id, health: NodeHealth.READY }, { health: NodeHealth.NOT_READY });
        if (!affected) continue; // a heartbeat came first
        // Read again under the row lock the update took: the event shows the node as this change left it.
        const current = await em.findOneByOrFail(Node, { id: node.id });
        recordNodeChange(em, { ...nodeSnapshotOf(current), health: NodeHealth.READY }, current);
        this.logger.warn({ node: node.name, lastHeartbeatAt: node.lastHeartbeatAt }, 'node missed its heartbeats: NOT_READY');
      }
    });
  }

  private async moveJobsOfLostNodes(): Promise<void> {
    const lostSince = new Date(Date.now() - (this.settings.heartbeatTimeoutSeconds + this.settings.nodeLostGraceSeconds) * 1000);
    await this.db.transaction(async (em) => {
      const lost = await em.find(Node, {
        where: { health: Not(NodeHealth.DOWN), removedAt: IsNull(), lastHeartbeatAt: LessThan(lostSince) },
        lock: forUpdate(em),
      });
      for (const node of lost) {
        await em.update(Node, { id: node.id }, { health: NodeHealth.DOWN });
        const before = nodeSnapshotOf(node);
        node.health = NodeHealth.DOWN;
        recordNodeChange(em, before, node);
        const moved = await moveAttempts(em, node, AttemptState.LOST, JobState.RETRYING, `its node ${node.name} stopped answering`);
        this.logger.warn({ node: node.name, jobs: moved }, 'node lost: DOWN; its jobs start again elsewhere');
      }
    });
  }

  private async enforceDrainDeadlines(): Promise<void> {
    await this.db.transaction(async (em) => {
      const due = await em.find(Node, { where: { draining: true, removedAt: IsNull(), drainDeadline: LessThan(new Date()) }, lock: forUpdate(em) });
      for (const node of due) {
        const moved = await moveAttempts(em, node, AttemptState.PREEMPTED, JobState.PREEMPTED, `its node ${node.name} was drained`);
        if (moved) this.logger.info({ node: node.name, jobs: moved }, 'drain deadline passed: moved the remaining jobs');
      }
    });
  }
}

/** Whether queue position `a` comes before `b`: higher priority first, then earlier queued, then lower id. */
function comesBefore(a: QueuePosition, b: QueuePosition): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.queuedAt !== b.queuedAt) return a.queuedAt < b.queuedAt;
  return a.id < b.id;
}

async function moveAttempts(
  em: EntityManager,
  node: Node,
  attemptState: AttemptState.LOST | AttemptState.PREEMPTED,
  jobState: JobState.RETRYING | JobState.PREEMPTED,
  reason: string,
): Promise<number> {
  const attempts = await em.findBy(JobAttempt, { nodeId: node.id, state: In([...ACTIVE_ATTEMPT_STATES]) });
  await requeue(em, attempts, attemptState, jobState, reason);
  return attempts.length;
}
