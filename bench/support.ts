// What the benchmarks that run Touchline's services as processes share: flag readers, a clean-up list run once on
// success, failure or Ctrl-C, temporary folders and PostgreSQL databases, free ports and the services' environment,
// service processes (the compiled command, or a script of the benchmark's forked and spoken to over IPC), and
// readings of /proc.
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** A bad flag: the message is shown with the usage. */
export class UsageError extends Error {}

export function wholeNumber(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new UsageError(`${flag} must be a whole number of at least ${min} (got ${text})`);
  return value;
}

export function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${flag} must be a number above 0 (got ${text})`);
  return value;
}

export function progress(message: string): void {
  console.log(`› ${message}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Clean-up: everything a run created is undone once, on success, failure or Ctrl-C, newest first.

const cleanups: { label: string; run: () => Promise<void> }[] = [];
let cleaning: Promise<void> | undefined;
let interrupted = false;

/** Thrown to stop the run where it stands once Ctrl-C has been pressed; clean-up still happens. */
export class InterruptedError extends Error {}

export function isInterrupted(): boolean {
  return interrupted;
}

/** Notes that Ctrl-C was pressed; false if it already was. */
export function interrupt(): boolean {
  if (interrupted) return false;
  interrupted = true;
  return true;
}

export function stopIfInterrupted(): void {
  if (interrupted) throw new InterruptedError('interrupted');
}

export function hasCleanups(): boolean {
  return cleanups.length > 0;
}

export function onCleanup(label: string, run: () => Promise<void>): void {
  cleanups.push({ label, run });
}

export function cleanUp(): Promise<void> {
  return (cleaning ??= (async () => {
    for (const { label, run } of cleanups.reverse()) {
      try {
        await run();
      } catch (error) {
        console.error(`  could not ${label}: ${(error as Error).message}`);
      }
    }
  })());
}

// ---------------------------------------------------------------------------------------------------------------
// Places: folders, ports, databases.

export function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export function makeDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-bench-'));
  onCleanup(`remove ${dir}`, async () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** Where the gateway and the three subgraphs listen: ports the OS chose. */
export interface PlatformPorts {
  gateway: number;
  registry: number;
  scheduler: number;
  monitoring: number;
}

export function graphqlUrl(port: number): string {
  return `http://127.0.0.1:${port}/graphql`;
}

/**
 * Free ports for the gateway and the three subgraphs, and the environment that runs each as a process of its own on
 * them: JSON logs at warn level, data in `dataDir` (or the database at `databaseUrl`), the run's secrets. Callers add
 * their own settings.
 */
export async function platformEnvironment(setup: {
  dataDir: string;
  databaseUrl: string | undefined;
  internalSecret: string;
  adminKey: string;
}): Promise<{ ports: PlatformPorts; env: Record<string, string> }> {
  const [gateway, registry, scheduler, monitoring] = (await freePorts(4)) as [number, number, number, number];
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    LOG_LEVEL: 'warn',
    TOUCHLINE_LOG_FORMAT: 'json',
    TOUCHLINE_DATA_DIR: setup.dataDir,
    TOUCHLINE_INTERNAL_SECRET: setup.internalSecret,
    TOUCHLINE_ADMIN_KEY: setup.adminKey,
    PORT: String(gateway),
    TOUCHLINE_REGISTRY_PORT: String(registry),
    TOUCHLINE_SCHEDULER_PORT: String(scheduler),
    TOUCHLINE_MONITORING_PORT: String(monitoring),
    TOUCHLINE_REGISTRY_URL: graphqlUrl(registry),
    TOUCHLINE_SCHEDULER_URL: graphqlUrl(scheduler),
    TOUCHLINE_MONITORING_URL: graphqlUrl(monitoring),
    ...(setup.databaseUrl ? { DATABASE_URL: setup.databaseUrl } : {}),
  };
  return { ports: { gateway, registry, scheduler, monitoring }, env };
}

export interface BenchDatabase {
  url: string;
  /** The PIDs of the database's PostgreSQL backends that this machine can see. */
  backendPids(): Promise<number[]>;
}

/** A PostgreSQL database of the run's own on `serverUrl`, dropped at clean-up. */
export async function createDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `touchline_bench_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  onCleanup(`drop database ${name}`, async () => {
    await withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  progress(`created PostgreSQL database ${name}`);
  const backendPids = () =>
    withClient(serverUrl, async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]);
      // PostgreSQL may run elsewhere (or in a container): only PIDs this machine can see are of use.
      return rows.map((row) => row.pid).filter((pid) => fs.existsSync(`/proc/${pid}/stat`));
    });
  return { url: url.href, backendPids };
}

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Services: the compiled `touchline` command, or a script of the benchmark's, in child processes stopped at clean-up.

const SERVICE_READY_TIMEOUT_MS = 90_000;
const SERVICE_STOP_TIMEOUT_MS = 15_000;

export interface Service {
  name: string;
  pid: number;
  process: ChildProcess;
  /** Its stdout and stderr so far (the last 64 KiB). */
  output(): string;
  exited: Promise<number | null>;
  hasExited(): boolean;
}

/** A forked script of the benchmark's, which it speaks to over IPC. */
export interface ForkedProcess<TMessage> extends Service {
  /** The next message that `accept` takes (failing if the process exits first or `timeoutMs` passes). */
  next<T extends TMessage>(accept: (message: TMessage) => message is T, timeoutMs: number): Promise<T>;
}

/** `npm run build`: the services run from dist/. */
export function buildServices(repoRoot: string): void {
  progress('building (npm run build)');
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm run build failed (exit code ${result.status})`);
}

/**
 * Runs `node dist/cli/index.js <args>` (optionally under `taskset -c`, with extra node flags such as --cpu-prof);
 * stopped at clean-up.
 */
export function spawnService(
  repoRoot: string,
  name: string,
  args: string[],
  env: Record<string, string>,
  wrap: { taskset?: string; nodeArgs?: string[] } = {},
): Service {
  const cli = path.join(repoRoot, 'dist/cli/index.js');
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  const nodeCommand = [process.execPath, ...(wrap.nodeArgs ?? []), cli, ...args];
  // taskset execs node in place, so the PID we get is node's own.
  const [command, ...commandArgs] = wrap.taskset ? ['taskset', '-c', wrap.taskset, ...nodeCommand] : nodeCommand;
  const child = spawn(command!, commandArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return trackService(name, child, ` (${command} not found?)`);
}

/** Forks `script` (under tsx, a TypeScript file runs as it is) with an IPC channel; stopped at clean-up. */
export function forkProcess<TMessage>(name: string, script: string, args: string[], env: Record<string, string>): ForkedProcess<TMessage> {
  const child = fork(script, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const service = trackService(name, child, '');
  return {
    ...service,
    next: (accept, timeoutMs) =>
      new Promise((resolve, reject) => {
        const onMessage = (message: TMessage) => {
          if (!accept(message)) return;
          done();
          resolve(message);
        };
        const onExit = () => {
          done();
          reject(new Error(`${name} exited:\n${service.output()}`));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name} did not answer within ${timeoutMs / 1000} s:\n${service.output().slice(-4000)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
        if (service.hasExited()) onExit();
      }),
  };
}

/** Keeps a child's output and exit, and puts its stopping on the clean-up list. */
function trackService(name: string, child: ChildProcess, notStartedHint: string): Service {
  let output = '';
  const append = (chunk: Buffer | string) => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  child.on('error', (error) => append(`${error.message}\n`));
  if (child.pid === undefined) throw new Error(`could not start ${name}${notStartedHint}`);
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let exitedYet = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitedYet = true;
      resolve(code);
    });
  });
  const service: Service = { name, pid: child.pid, process: child, output: () => output, exited, hasExited: () => exitedYet };
  onCleanup(`stop ${name} (pid ${child.pid})`, () => stopService(service));
  return service;
}

/**
 * Asks the service to stop: with `request`, over IPC while its channel is open, else by SIGTERM to its PID; then
 * SIGKILL if it has not exited in time.
 */
export async function stopService(service: Service, request?: object): Promise<void> {
  if (service.hasExited()) return;
  if (request && service.process.connected) service.process.send(request);
  else {
    try {
      process.kill(service.pid, 'SIGTERM');
    } catch {
      return; // it exited meanwhile (Ctrl-C in a terminal reaches the children too)
    }
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), SERVICE_STOP_TIMEOUT_MS)));
  const outcome = await Promise.race([service.exited, timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout' && !service.hasExited()) {
    console.error(`  ${service.name} (pid ${service.pid}) did not stop within ${SERVICE_STOP_TIMEOUT_MS / 1000} s: killing it`);
    try {
      process.kill(service.pid, 'SIGKILL');
    } catch {
      return;
    }
    await service.exited;
  }
}

/** Polls a readiness URL until it answers 200; fails early, with the service's output, if the service exits. */
export async function waitUntilReady(service: Service, url: string): Promise<void> {
  const deadline = Date.now() + SERVICE_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (service.hasExited()) throw new Error(`${service.name} exited while starting:\n${service.output()}`);
    stopIfInterrupted();
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${service.name} was not ready at ${url} after ${SERVICE_READY_TIMEOUT_MS / 1000} s:\n${service.output()}`);
}

/** Log lines at warn level or above in a service's JSON output: a clean run has none. */
export function loggedWarnings(service: Service): number {
  return service.output().split('\n').filter((line) => {
    try {
      return ((JSON.parse(line) as { level?: number }).level ?? 0) >= 40;
    } catch {
      return false;
    }
  }).length;
}

// ---------------------------------------------------------------------------------------------------------------
// Readings of /proc.

export const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** A process's CPU time so far (user and system), in seconds; throws once it has gone. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

export function cpuSecondsIfAlive(pid: number): number | undefined {
  try {
    return cpuSeconds(pid);
  } catch {
    return undefined;
  }
}

/** Starts the peak-RSS count afresh (Linux clear_refs), so VmHWM covers the measured window only. */
export function resetPeakRss(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** The whole machine's busy and total CPU time so far, in clock ticks summed over all CPUs (/proc/stat). */
export function machineTicks(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1, 9).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, total: busy + idle! + iowait! };
}

/**
 * Runs a benchmark's `main`: Ctrl-C (or SIGTERM) stops it where it stands, a bad flag prints `usage`, and whatever
 * the outcome, the clean-up list is run once.
 */
export function runBenchmark(main: () => Promise<void>, usage: string): void {
  // `on`, not `once`: a second signal (a second Ctrl-C, or tsx relaying the first) must not cut the clean-up short.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (!interrupt()) return;
      console.error(`\n${signal}: stopping the services and removing what this run created`);
      void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  main()
    .catch((error: unknown) => {
      process.exitCode = 1;
      if (error instanceof InterruptedError) return;
      console.error(error instanceof UsageError ? `${error.message}\n\n${usage}` : `Benchmark failed: ${(error as Error).stack ?? String(error)}`);
    })
    .finally(async () => {
      if (hasCleanups()) progress('cleaning up');
      await cleanUp();
    });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
