// Node agents for tests: real `touchline agent` processes enrolled with a join token, and helpers to wait for
// jobs to reach a state.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnTouchline, type TouchlineProcess } from './processes';
import type { TestPlatform } from './platform';

export interface TestAgent {
  name: string;
  process: TouchlineProcess;
  stateDir: string;
  /** Starts the agent again after it stopped (same state folder: same node). */
  restart(): Promise<TestAgent>;
}

export async function createJoinToken(touchline: TestPlatform, maxUses = 10): Promise<string> {
  const result = await touchline.gql(`mutation($n: Int!) { createJoinToken(input: {name: "test", maxUses: $n}) { token userErrors { message } } }`, { n: maxUses });
  const token = result.data?.createJoinToken.token;
  if (!token) throw new Error(`could not make a join token: ${JSON.stringify(result)}`);
  return token;
}

export interface AgentSpec {
  name: string;
  joinToken: string;
  runtimes?: string;
  cpuMillicores?: number;
  memoryMiB?: number;
  gpus?: string;
  labels?: string;
  env?: Record<string, string>;
  /** Let the agent ask nvidia-smi for its GPUs instead of declaring none. */
  detectGpus?: boolean;
  /** Seconds between the agent's metrics pushes (--metrics-interval); 0 (none) when left out, so tests see only the metrics they report. */
  metricsIntervalSeconds?: number;
}

/** Starts `touchline agent` as its own process and waits until it runs. */
export async function startAgent(touchline: TestPlatform, spec: AgentSpec, stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-agent-'))): Promise<TestAgent> {
  const args = [
    'agent',
    '--gateway', touchline.url,
    '--join-token', spec.joinToken,
    '--name', spec.name,
    '--runtimes', spec.runtimes ?? 'process',
    '--cpu-millicores', String(spec.cpuMillicores ?? 4000),
    '--memory-mib', String(spec.memoryMiB ?? 4096),
    ...(spec.detectGpus ? [] : ['--gpus', spec.gpus ?? '']),
    '--state-dir', stateDir,
    ...(spec.labels ? ['--labels', spec.labels] : []),
    '--metrics-interval', String(spec.metricsIntervalSeconds ?? 0),
  ];
  const child = spawnTouchline(args, { LOG_LEVEL: 'info', ...spec.env });
  await child.waitFor(/"msg":"agent running"/);
  return {
    name: spec.name,
    process: child,
    stateDir,
    restart: () => startAgent(touchline, spec, stateDir),
  };
}

export async function stopAgent(agent: TestAgent, options: { keepState?: boolean } = {}): Promise<void> {
  await agent.process.stop();
  if (!options.keepState) fs.rmSync(agent.stateDir, { recursive: true, force: true });
}

/** Polls a job until `done` says so, returning the last answer; fails with the job's story after `timeoutMs`. */
export async function waitForJob(
  touchline: TestPlatform,
  id: string,
  done: (job: any) => boolean,
  timeoutMs = 20_000,
  fields = 'id state attempt failures exitCode reason unschedulableReason node { name } attempts { number state exitCode reason node { name } } events { fromState toState reason }',
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let job: any;
  while (Date.now() < deadline) {
    job = (await touchline.gql(`query($id: ID!) { job(id: $id) { ${fields} } }`, { id })).data?.job;
    if (job && done(job)) return job;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`job ${id} did not get there in ${timeoutMs} ms; last seen: ${JSON.stringify(job, null, 2)}`);
}

export const SUBMIT = `mutation($input: SubmitJobInput!) { submitJob(input: $input) { job { id state runtime } userErrors { field message code } } }`;
