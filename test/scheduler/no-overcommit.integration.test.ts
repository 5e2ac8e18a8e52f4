// Never over-commit, on PostgreSQL: two scheduler instances placing at the same time (their lease bypassed on
// purpose, so that only the row locks stand between them), concurrent submissions, and agents reporting
// attempts' ends meanwhile. At every moment each node's active attempts fit its capacity and hold distinct
// GPUs, and its counters equal their sums; in the end every job ran exactly once.
import { In } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../common/auth/identity';
import { Database } from '../../common/db/database';
import { newId } from '../../common/db/ids';
import { silentLogger } from '../../common/logger';
import { DATABASES } from '../../cli/platform';
import { AttemptEventKind, ExitReason } from '../../subgraphs/scheduler/agent-api/agent.inputs';
import { reportAttempt } from '../../subgraphs/scheduler/agent-api/agent.service';
import { ACTIVE_ATTEMPT_STATES, Job, JobAttempt } from '../../subgraphs/scheduler/job/job.entity';
import { submitJob } from '../../subgraphs/scheduler/job/job.service';
import type { RegistryClient } from '../../subgraphs/scheduler/job/registry-client';
import { Node, NodeHealth } from '../../subgraphs/scheduler/node/node.entity';
import { runPlacementCycle } from '../../subgraphs/scheduler/placement/placement-cycle';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const NODES = 4;
const JOBS = 160;
const person: Identity = { kind: 'apiKey', id: 'tester', name: 'tester', role: 'operator' };
const noRegistry = {} as RegistryClient;

describe('no over-commit under concurrency on PostgreSQL', () => {
  let database: TestDatabase;
  const instances: Database[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    for (let i = 0; i < 2; i++) {
      instances.push(await Database.open({ location: { kind: 'postgres', url: database.url, schema: 'scheduler' }, ...DATABASES.scheduler, logger: silentLogger }));
    }
    const now = new Date();
    await instances[0]!.manager.insert(
      Node,
      Array.from({ length: NODES }, (_, i) => ({
        id: newId(),
        name: `node-${i}`,
        labelMap: {},
        runtimes: ['process'],
        agentVersion: 'test',
        capacityCpu: 4000,
        capacityMemory: 8192,
        allocatableCpu: 4000,
        allocatableMemory: 8192,
        gpuList: [0, 1].map((index) => ({ index, model: 'A100', memoryMiB: 40960 })),
        allocatedCpu: 0,
        allocatedMemory: 0,
        allocatedGpus: [],
        health: NodeHealth.READY,
        cordoned: false,
        draining: false,
        drainDeadline: null,
        lastHeartbeatAt: now,
        registeredAt: now,
        removedAt: null,
        joinTokenId: null,
      })),
    );
  });
  afterAll(async () => {
    for (const instance of instances) await instance.close();
    await database?.drop();
  });

  /** The invariants, read in one snapshot. */
  async function checkInvariants(db: Database): Promise<void> {
    await db.transaction(async (em) => {
      await em.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const nodes = await em.find(Node);
      const active = await em.findBy(JobAttempt, { state: In([...ACTIVE_ATTEMPT_STATES]) });
      for (const node of nodes) {
        const mine = active.filter((attempt) => attempt.nodeId === node.id);
        const cpu = mine.reduce((sum, attempt) => sum + attempt.cpuMillicores, 0);
        const memory = mine.reduce((sum, attempt) => sum + attempt.memoryMib, 0);
        const gpus = mine.flatMap((attempt) => attempt.gpuIndices);
        expect(cpu, node.name).toBeLessThanOrEqual(node.allocatableCpu);
        expect(memory, node.name).toBeLessThanOrEqual(node.allocatableMemory);
        expect(new Set(gpus).size, `${node.name} gives a GPU twice: ${gpus}`).toBe(gpus.length);
        expect([node.allocatedCpu, node.allocatedMemory, [...node.allocatedGpus].sort()], node.name).toEqual([cpu, memory, [...gpus].sort()]);
      }
      const activePerJob = new Map<string, number>();
      for (const attempt of active) activePerJob.set(attempt.jobId, (activePerJob.get(attempt.jobId) ?? 0) + 1);
      expect([...activePerJob.values()].every((count) => count === 1)).toBe(true);
    });
  }

  it('keeps every node within its capacity while two schedulers place and agents finish jobs', async () => {
    const [a, b] = instances as [Database, Database];
    // Submissions from ten clients at once: mixed sizes, a quarter wanting one or two GPUs.
    await Promise.all(
      Array.from({ length: 10 }, (_, client) =>
        (async () => {
          for (let i = client; i < JOBS; i += 10) {
            const gpus = i % 4 === 0 ? 1 + (i % 8 === 0 ? 1 : 0) : 0;
            const outcome = await (i % 2 ? a : b).transaction((em) =>
              submitJob(em, { command: ['true'], resources: { cpuMillicores: 500 + (i % 5) * 300, memoryMiB: 512 + (i % 3) * 1024, gpuCount: gpus } }, person, noRegistry),
            );
            expect(outcome.userErrors).toBeUndefined();
          }
        })(),
      ),
    );

    const options = { strategy: 'binpack' as const, preemption: false, preemptionPriorityGap: 10 };
    let finished = 0;
    let conflicts = 0;
    const deadline = Date.now() + 60_000;
    while (finished < JOBS) {
      expect(Date.now()).toBeLessThan(deadline);
      // Both instances place at once, with small batches so that their decisions overlap and conflict.
      const [first, second] = await Promise.all([
        runPlacementCycle(a, options, { batchSize: 25 }),
        runPlacementCycle(b, options, { batchSize: 25 }),
        finishSome(a, 7),
        finishSome(b, 7),
      ]);
      conflicts += first.conflicts + second.conflicts;
      await checkInvariants(a);
      finished = await a.manager.countBy(Job, { state: In(['SUCCEEDED']) as never });
    }
    // The two instances did decide the same placements: the locks, not luck, kept them apart.
    expect(conflicts).toBeGreaterThan(0);
    const attempts = await a.manager.find(JobAttempt);
    expect(attempts).toHaveLength(JOBS);
    expect(attempts.every((attempt) => attempt.state === 'SUCCEEDED')).toBe(true);
    const nodes = await a.manager.find(Node);
    expect(nodes.map((node) => [node.allocatedCpu, node.allocatedMemory, node.allocatedGpus])).toEqual(nodes.map(() => [0, 0, []]));
  });

  /** Agents report the end of up to `count` running attempts, each in its own transaction, concurrently. */
  async function finishSome(db: Database, count: number): Promise<void> {
    const active = await db.manager.find(JobAttempt, { where: { state: In([...ACTIVE_ATTEMPT_STATES]) }, take: count });
    await Promise.all(
      active.map((attempt) =>
        db.transaction((em) =>
          reportAttempt(
            em,
            { attemptId: attempt.id, token: attempt.token, event: AttemptEventKind.EXITED, reason: ExitReason.EXITED, exitCode: 0 },
            { kind: 'node', id: attempt.nodeId, name: 'agent', role: 'node' },
          ),
        ),
      ),
    );
  }
});
