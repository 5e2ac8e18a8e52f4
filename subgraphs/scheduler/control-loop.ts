// The scheduler's control loop: one instance at a time (a lease in the database) notices silent nodes, moves
// the jobs of lost nodes and of drains past their deadline, and places queued jobs. Mutations wake it up early.
import { randomUUID } from 'node:crypto';
import { In, IsNull, LessThan, Not, type EntityManager } from 'typeorm';
import type { SchedulerSettings } from '../../common/config';
import { forUpdate, type Database } from '../../common/db/database';
import type { Logger } from '../../common/logger';
import { ACTIVE_ATTEMPT_STATES, AttemptState, JobAttempt, SchedulerLease } from './job/job.entity';
import { JobState } from './job/job-state';
import { Node, NodeHealth } from './node/node.entity';
import { requeue } from './node/node.service';
import { runPlacementCycle, type QueuePosition } from './placement/placement-cycle';

const LEASE_NAME = 'control-loop';
const LEASE_MS = 10_000;
const IDLE_TICK_MS = 500;
/** Placement cycles run back to back while the queue holds more, for at most this long per tick. */
const PLACEMENT_BUDGET_MS = 2_000;

export class ControlLoop {
  readonly holder = `${process.pid}-${randomUUID()}`;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private wakeRequested = false;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly settings: SchedulerSettings,
    private readonly logger: Logger,
  ) {}

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
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.db.transaction((em) => em.delete(SchedulerLease, { name: LEASE_NAME, holder: this.holder })).catch(() => undefined);
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
          this.schedule(again ? 0 : IDLE_TICK_MS);
        });
    }, delayMs);
    this.timer.unref();
  }

  /** One pass: returns once nothing more is to be done right now. */
  async tick(): Promise<void> {
    if (!(await this.holdLease())) return;
    await this.markSilentNodes();
    await this.moveJobsOfLostNodes();
    await this.enforceDrainDeadlines();
    // Walk the whole queue, a batch at a time, so that a batch no node can take does not hold back the ones after it.
    const deadline = Date.now() + PLACEMENT_BUDGET_MS;
    let after: QueuePosition | undefined;
    do {
      const report = await runPlacementCycle(this.db, this.placementOptions, { after });
      if (report.placed || report.preempted || report.conflicts) this.logger.debug({ ...report, next: undefined }, 'placement cycle');
      after = report.next;
    } while (after && Date.now() < deadline);
  }

  private get placementOptions() {
    return { strategy: this.settings.strategy, preemption: this.settings.preemption, preemptionPriorityGap: 10 };
  }

  /** Takes or renews the lease; false while another instance holds it. */
  private holdLease(): Promise<boolean> {
    return this.db.transaction(async (em) => {
      const now = new Date();
      const lease = await em.findOne(SchedulerLease, { where: { name: LEASE_NAME }, lock: forUpdate(em) });
      const expiresAt = new Date(now.getTime() + LEASE_MS);
      if (!lease) {
        await em.insert(SchedulerLease, { name: LEASE_NAME, holder: this.holder, expiresAt });
        return true;
      }
      if (lease.holder !== this.holder && lease.expiresAt > now) return false;
      if (lease.holder !== this.holder) this.logger.info({ previous: lease.holder }, 'took over the scheduler control loop');
      await em.update(SchedulerLease, { name: LEASE_NAME }, { holder: this.holder, expiresAt });
      return true;
    });
  }

  private async markSilentNodes(): Promise<void> {
    const silentSince = new Date(Date.now() - this.settings.heartbeatTimeoutSeconds * 1000);
    await this.db.transaction(async (em) => {
      const silent = await em.findBy(Node, { health: NodeHealth.READY, removedAt: IsNull(), lastHeartbeatAt: LessThan(silentSince) });
      for (const node of silent) {
        await em.update(Node, { id: node.id, health: NodeHealth.READY }, { health: NodeHealth.NOT_READY });
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
