// `touchline agent --simulate N`: N pretend nodes from one process, whose jobs only wait (for scale tests and
// demos, like Nomad's mock driver).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createJoinToken, SUBMIT, waitForJob } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { spawnTouchline, type TouchlineProcess } from '../support/processes';

let touchline: TestPlatform;
let simulator: TouchlineProcess;
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-simulate-'));

beforeAll(async () => {
  touchline = await startTestPlatform('sqlite', { env: { TOUCHLINE_HEARTBEAT_INTERVAL_SECONDS: '1' } });
  const joinToken = await createJoinToken(touchline, 3);
  simulator = spawnTouchline(
    ['agent', '--gateway', touchline.url, '--join-token', joinToken, '--simulate', '3', '--name', 'rack', '--gpus', '0:H100:81920', '--state-dir', stateDir],
    { LOG_LEVEL: 'info' },
  );
  for (let i = 0; i < 3; i++) await simulator.waitFor(new RegExp(`"node":"rack-sim-${i + 1}".*"msg":"agent running"`));
});
afterAll(async () => {
  await simulator?.stop();
  await touchline?.destroy();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

it('enrolls N simulated nodes with the declared capacity, and runs jobs on them for the declared time', async () => {
  const nodes = await touchline.gql(`{ nodes { nodes { name status runtimes labels { key value } capacity { cpuMillicores memoryMiB gpus { model } } } } }`);
  expect(nodes.data?.nodes.nodes).toEqual(
    [1, 2, 3].map((i) => ({
      name: `rack-sim-${i}`,
      status: 'READY',
      runtimes: ['simulated'],
      labels: [{ key: 'simulated', value: 'true' }],
      capacity: { cpuMillicores: 8000, memoryMiB: 32768, gpus: [{ model: 'H100' }] },
    })),
  );
  const input = { runtime: 'SIMULATED', command: ['train'], env: [{ name: 'TOUCHLINE_SIMULATED_SECONDS', value: '0.5' }], resources: { gpuCount: 1, cpuMillicores: 4000 } };
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await touchline.gql(SUBMIT, { input })).data?.submitJob.job.id);
  const done = await Promise.all(ids.map((id) => waitForJob(touchline, id, (job) => job.state === 'SUCCEEDED')));
  // One GPU each: the three jobs ran on three different nodes.
  expect(new Set(done.map((job) => job.attempts[0].node.name)).size).toBe(3);
});
