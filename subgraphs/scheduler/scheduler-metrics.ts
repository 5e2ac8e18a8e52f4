// The scheduler's Prometheus metrics: jobs by state and the queue, read from the database at each scrape (so every
// instance shows the same figures), connected nodes by status, and the placements this instance's control loop made.
import type { Database } from '../../common/db/database';
import { sharedWhileRunning, type ServiceMetrics } from '../../common/metrics/service-metrics';
import type { ControlLoopObserver } from './control-loop';
import { Job } from './job/job.entity';
import { JobState, QUEUED_STATES } from './job/job-state';
import { Node, NodeHealth, NodeStatus } from './node/node.entity';

/** Registers the scheduler's metrics; the observer it returns counts what the control loop places. */
export function schedulerMetrics(db: Database, metrics: ServiceMetrics): ControlLoopObserver {
  const jobCounts = sharedWhileRunning(() => countJobsByState(db));
  metrics.gaugeFromReadings({
    name: 'touchline_jobs',
    help: 'Jobs by state.',
    labelNames: ['state'],
    read: async () => {
      const counts = await jobCounts();
      return Object.values(JobState).map((state) => ({ labels: { state }, value: counts.get(state) ?? 0 }));
    },
  });
  metrics.gaugeFromReadings({
    name: 'touchline_job_queue_depth',
    help: 'Jobs waiting for a node (PENDING, RETRYING or PREEMPTED).',
    read: async () => {
      const counts = await jobCounts();
      return [{ labels: {}, value: QUEUED_STATES.reduce((sum, state) => sum + (counts.get(state) ?? 0), 0) }];
    },
  });
  metrics.gaugeFromReadings({
    name: 'touchline_nodes',
    help: 'Nodes (agents) by status; removed nodes are not counted.',
    labelNames: ['status'],
    read: async () => {
      const counts = await countNodesByStatus(db);
      return Object.values(NodeStatus).map((status) => ({ labels: { status }, value: counts.get(status) ?? 0 }));
    },
  });
  const placements = metrics.counter('touchline_placements_total', "Jobs placed on a node by this instance's control loop.");
  const preemptions = metrics.counter('touchline_preemptions_total', "Jobs evicted for higher-priority ones by this instance's control loop.");
  return {
    onCycle(report) {
      if (report.placed) placements.inc(report.placed);
      if (report.preempted) preemptions.inc(report.preempted);
    },
  };
}

async function countJobsByState(db: Database): Promise<Map<string, number>> {
  const rows = await db.manager
    .createQueryBuilder(Job, 'job')
    .select('job.state', 'state')
    .addSelect('COUNT(*)', 'count')
    .groupBy('job.state')
    .getRawMany<{ state: string; count: number | string }>();
  return new Map(rows.map((row) => [row.state, Number(row.count)]));
}

async function countNodesByStatus(db: Database): Promise<Map<NodeStatus, number>> {
  const rows = await db.manager
    .createQueryBuilder(Node, 'node')
    .select('node.health', 'health')
    .addSelect('node.cordoned', 'cordoned')
    .addSelect('node.draining', 'draining')
    .addSelect('COUNT(*)', 'count')
    .where('node.removedAt IS NULL')
    .groupBy('node.health')
    .addGroupBy('node.cordoned')
    .addGroupBy('node.draining')
    .getRawMany<{ health: NodeHealth; cordoned: boolean | number; draining: boolean | number; count: number | string }>();
  const counts = new Map<NodeStatus, number>();
  for (const row of rows) {
    const status = statusOf(row.health, Boolean(row.draining), Boolean(row.cordoned));
    counts.set(status, (counts.get(status) ?? 0) + Number(row.count));
  }
  return counts;
}

/** As Node.status says it. */
function statusOf(health: NodeHealth, draining: boolean, cordoned: boolean): NodeStatus {
  if (health !== NodeHealth.READY) return health === NodeHealth.DOWN ? NodeStatus.DOWN : NodeStatus.NOT_READY;
  if (draining) return NodeStatus.DRAINING;
  if (cordoned) return NodeStatus.CORDONED;
  return NodeStatus.READY;
}
