// The process runtime with real processes: output lines, environment, working folders, time limits, stopping whole
// process groups, and attempts left running by an earlier agent. Every process here is ended by its own pid or group.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SEARCH_PATH, MAX_LINE_BYTES, ProcessRuntime } from '../../agent/runtimes/process';
import type { AttemptHandlers, AttemptSpec, LogLine, RunningAttempt } from '../../agent/runtimes/runtime';
import { silentLogger } from '../../common/logger';

const NODE = process.execPath;

let root: string;
let workRoot: string;
let stateDir: string;
/** Process groups started here whose end the test has not seen: ended after each test, by group id. */
const unfinishedGroups = new Set<number>();

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'touchline-process-runtime-'));
  workRoot = path.join(root, 'work');
  stateDir = path.join(root, 'state');
});

afterEach(() => {
  for (const pgid of unfinishedGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  unfinishedGroups.clear();
  fs.rmSync(root, { recursive: true, force: true });
});

function runtime(options: { keepAttemptFolders?: boolean; killGraceSeconds?: number } = {}): ProcessRuntime {
  return new ProcessRuntime({ workRoot, stateDir, logger: silentLogger, killGraceSeconds: 1, ...options });
}

function processSpec(command: string[] | null, overrides: Partial<AttemptSpec> = {}): AttemptSpec {
  return {
    attemptId: randomUUID(),
    jobId: randomUUID(),
    attemptNumber: 1,
    runtime: 'process',
    image: null,
    command,
    args: [],
    env: {},
    cpuMillicores: 500,
    memoryMiB: 256,
    gpuIndices: [],
    timeoutSeconds: null,
    ...overrides,
  };
}

const sh = (script: string) => ['sh', '-c', script];
const nodeScript = (script: string) => [NODE, '-e', script];

/** Handlers that keep what the attempt reports. */
function recorder() {
  const lines: LogLine[] = [];
  let runningCalls = 0;
  const handlers: AttemptHandlers = {
    log: (line) => lines.push(line),
    running: () => runningCalls++,
  };
  return {
    handlers,
    lines,
    runningCalls: () => runningCalls,
    texts: (stream?: LogLine['stream']) => lines.filter((line) => !stream || line.stream === stream).map((l) => l.text),
    /** Waits for a line matching `pattern` and returns it. */
    async line(pattern: RegExp, timeoutMs = 5_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find((line) => pattern.test(line.text));
        if (found) return found.text;
        if (Date.now() > deadline) throw new Error(`no line matched ${pattern}: ${JSON.stringify(lines)}`);
        await sleep(10);
      }
    },
  };
}

/** Starts an attempt, noting its process group so that a failing test leaves nothing running. */
async function start(runtimeUnderTest: ProcessRuntime, spec: AttemptSpec, handlers: AttemptHandlers) {
  const attempt = await runtimeUnderTest.start(spec, handlers);
  const recordFile = path.join(stateDir, `${spec.attemptId}.json`);
  if (fs.existsSync(recordFile)) {
    const { pgid } = JSON.parse(fs.readFileSync(recordFile, 'utf8')) as { pgid: number };
    unfinishedGroups.add(pgid);
    void attempt.exited.then(() => unfinishedGroups.delete(pgid));
  }
  return attempt;
}

async function run(spec: AttemptSpec) {
  const output = recorder();
  const attempt = await start(runtime(), spec, output.handlers);
  return { exit: await attempt.exited, output };
}

/** Whether a process is alive: zombies (dead, waiting for their parent to reap them) are not. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function endsWithin(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

async function timed<T>(work: Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await work;
  return { result, ms: Date.now() - started };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A script that starts a background `sleep` (printing its pid), then sleeps itself: a process group of three. */
const FAMILY = sh('sleep 30 & echo "grandchild $!"; sleep 30');

async function grandchildOf(output: ReturnType<typeof recorder>): Promise<number> {
  const pid = Number((await output.line(/^grandchild \d+$/)).split(' ')[1]);
  expect(isAlive(pid)).toBe(true);
  return pid;
}

describe('ProcessRuntime: running', () => {
  it('runs a program found in PATH and streams its output lines in order, then exit code 0', async () => {
    const output = recorder();
    const attempt = await start(runtime(), processSpec(sh('echo one; echo two; echo three')), output.handlers);
    expect(output.runningCalls()).toBe(1);

    expect(await attempt.exited).toEqual({ exitCode: 0, reason: 'EXITED' });
    expect(output.texts('stdout')).toEqual(['one', 'two', 'three']);
    expect(output.lines.every((line) => line.at instanceof Date)).toBe(true);
    expect(output.runningCalls()).toBe(1);
  });

  it('passes the command and args to the program as they are, without a shell reading them', async () => {
    const spec = processSpec(nodeScript('console.log(JSON.stringify(process.argv.slice(1)))'), {
      args: ['two words', '$HOME; echo injected', '*'],
    });
    const { exit, output } = await run(spec);
    expect(exit.exitCode).toBe(0);
    expect(JSON.parse(output.texts()[0] ?? '')).toEqual(['two words', '$HOME; echo injected', '*']);
  });

  it('reports a failing exit code, and keeps stdout and stderr apart', async () => {
    const { exit, output } = await run(processSpec(sh('echo working; echo "bad input" >&2; exit 3')));
    expect(exit).toEqual({ exitCode: 3, reason: 'EXITED' });
    expect(output.texts('stdout')).toEqual(['working']);
    expect(output.texts('stderr')).toEqual(['bad input']);
  });

  it("gives the attempt its identity and its GPUs, and nothing of the agent's own environment", async () => {
    const secret = `fake-secret-${randomUUID()}`;
    process.env.TOUCHLINE_INTERNAL_SECRET = secret;
    try {
      const spec = processSpec(nodeScript('console.log(JSON.stringify(process.env))'), {
        attemptNumber: 2,
        gpuIndices: [1, 3],
        // A job cannot widen its GPUs or claim another identity through its own env.
        env: { MODEL_NAME: 'expected-goals', CUDA_VISIBLE_DEVICES: '0,1,2,3', TOUCHLINE_JOB_ID: 'someone-else' },
      });
      const { exit, output } = await run(spec);
      expect(exit.exitCode).toBe(0);
      const env = JSON.parse(output.texts()[0] ?? '') as Record<string, string>;

      expect(env).toEqual({
        PATH: DEFAULT_SEARCH_PATH,
        HOME: path.join(workRoot, spec.attemptId),
        TMPDIR: path.join(workRoot, spec.attemptId, 'tmp'),
        LANG: 'C.UTF-8',
        PYTHONUNBUFFERED: '1',
        MODEL_NAME: 'expected-goals',
        TOUCHLINE_JOB_ID: spec.jobId,
        TOUCHLINE_ATTEMPT_ID: spec.attemptId,
        TOUCHLINE_ATTEMPT: '2',
        CUDA_VISIBLE_DEVICES: '1,3',
      });
      expect(output.texts()[0]).not.toContain(secret);
    } finally {
      delete process.env.TOUCHLINE_INTERNAL_SECRET;
    }
  });

  it('hides every GPU from a CPU-only job', async () => {
    const script = 'console.log(JSON.stringify(process.env.CUDA_VISIBLE_DEVICES))';
    const { output } = await run(processSpec(nodeScript(script), { gpuIndices: [] }));
    expect(output.texts()).toEqual(['""']);
  });

  it('runs each attempt in an empty folder of its own, removed once it ends', async () => {
    const script = 'pwd; touch "made-by-$TOUCHLINE_ATTEMPT_ID"; sleep 0.2; ls -A';
    const first = processSpec(sh(script));
    const second = processSpec(sh(script));
    const [a, b] = await Promise.all([run(first), run(second)]);

    const workFolder = fs.realpathSync(workRoot);
    expect(a.output.texts()).toEqual([path.join(workFolder, first.attemptId), `made-by-${first.attemptId}`, 'tmp']);
    expect(b.output.texts()).toEqual([path.join(workFolder, second.attemptId), `made-by-${second.attemptId}`, 'tmp']);
    expect(fs.readdirSync(workRoot)).toEqual([]);
    expect(fs.readdirSync(stateDir)).toEqual([]);
  });

  it('keeps the working folder when told to', async () => {
    const spec = processSpec(sh('echo result > result.txt'));
    const attempt = await start(runtime({ keepAttemptFolders: true }), spec, recorder().handlers);
    await attempt.exited;
    expect(fs.readFileSync(path.join(workRoot, spec.attemptId, 'result.txt'), 'utf8')).toBe('result\n');
  });

  it('cuts output into lines: CRLF ends a line, a runaway line is cut, the unfinished last line is flushed', async () => {
    const script = String.raw`process.stdout.write('first\r\nsecond\n' + '\u20ac'.repeat(8000) + '\nno newline at the end')`;
    const { exit, output } = await run(processSpec(nodeScript(script)));
    expect(exit.exitCode).toBe(0);
    const texts = output.texts();

    expect(texts[0]).toBe('first');
    expect(texts[1]).toBe('second');
    expect(texts.at(-1)).toBe('no newline at the end');
    const pieces = texts.slice(2, -1);
    // 24,000 bytes of three-byte characters: cut between characters, never inside one.
    expect(pieces.length).toBe(2);
    expect(pieces.join('')).toBe('\u20ac'.repeat(8000));
    for (const piece of pieces) expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(MAX_LINE_BYTES);
  });
  it('follows the attempt to its end even when a handler throws', async () => {
    const handlers: AttemptHandlers = {
      log: () => {
        throw new Error('log store unavailable');
      },
      running: () => {
        throw new Error('scheduler unreachable');
      },
    };
    const attempt = await start(runtime(), processSpec(sh('echo one; echo two')), handlers);
    expect(await attempt.exited).toEqual({ exitCode: 0, reason: 'EXITED' });
  });
});

describe('ProcessRuntime: failing to start', () => {
  it('reports START_FAILED, without throwing, for a program that is not there', async () => {
    const { exit, output } = await run(processSpec(['touchline-no-such-program', '--help']));
    expect(exit.reason).toBe('START_FAILED');
    expect(exit.exitCode).toBeNull();
    expect(exit.message).toMatch(/touchline-no-such-program was not found/);
    expect(output.runningCalls()).toBe(0);
    expect(fs.readdirSync(workRoot)).toEqual([]);
    expect(fs.readdirSync(stateDir)).toEqual([]);
  });

  it('reports START_FAILED for a program that is not executable', async () => {
    const script = path.join(root, 'not-executable.sh');
    fs.writeFileSync(script, '#!/bin/sh\necho hello\n', { mode: 0o644 });
    const { exit } = await run(processSpec([script]));
    expect(exit.reason).toBe('START_FAILED');
    expect(exit.message).toMatch(/permission denied/);
  });

  it.each([
    ['no command', { command: null }],
    ['an empty command', { command: [] }],
    ['an empty program', { command: [''] }],
    ['a NUL byte in the command', { command: ['sh', '-c', 'echo a\0b'] }],
    ['a command that is not strings', { command: [42] as unknown as string[] }],
    ['a NUL byte in an argument', { command: ['echo'], args: ['a\0b'] }],
    ['an env name with "="', { command: ['env'], env: { 'A=B': 'c' } }],
    ['another runtime', { command: ['echo'], runtime: 'docker' as const }],
    ['an attempt id that climbs out of the work folder', { command: ['echo'], attemptId: '../escaped' }],
    ['a negative time limit', { command: ['echo'], timeoutSeconds: -1 }],
  ])('refuses to run a spec with %s', async (_, overrides: Partial<AttemptSpec>) => {
    const { exit, output } = await run(processSpec(['echo', 'should not run'], overrides));
    expect(exit.reason).toBe('START_FAILED');
    expect(exit.message).toMatch(/^invalid attempt: /);
    expect(output.lines).toEqual([]);
    expect(fs.existsSync(workRoot)).toBe(false);
    expect(fs.existsSync(path.join(root, 'escaped'))).toBe(false);
  });

  it('refuses to start an attempt id that is already running', async () => {
    const processes = runtime();
    const spec = processSpec(sh('sleep 30'));
    const first = await start(processes, spec, recorder().handlers);

    const second = await start(processes, spec, recorder().handlers);
    expect(await second.exited).toMatchObject({ reason: 'START_FAILED', message: expect.stringMatching(/already/) });

    await first.stop(0);
    expect((await first.exited).reason).toBe('STOPPED');
  });
});

describe('ProcessRuntime: ending attempts', () => {
  it('stops an attempt at its time limit, with its whole process group', async () => {
    const output = recorder();
    const started = Date.now();
    const attempt = await start(runtime(), processSpec(FAMILY, { timeoutSeconds: 0.3 }), output.handlers);
    const grandchild = await grandchildOf(output);

    const exit = await attempt.exited;
    expect(exit.reason).toBe('TIMEOUT');
    expect(exit.message).toMatch(/time limit of 0.3 s reached; ended by SIGTERM/);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await endsWithin(grandchild, 1_000)).toBe(true);
  });

  it('stop() ends the whole process group at once, and may be called again', async () => {
    const output = recorder();
    const attempt = await start(runtime(), processSpec(FAMILY), output.handlers);
    const grandchild = await grandchildOf(output);

    const asked = Date.now();
    await Promise.all([attempt.stop(), attempt.stop()]);
    expect(Date.now() - asked).toBeLessThan(2_000);
    expect(await attempt.exited).toMatchObject({ reason: 'STOPPED', exitCode: null });
    expect(await endsWithin(grandchild, 1_000)).toBe(true);

    await attempt.stop();
    expect((await attempt.exited).reason).toBe('STOPPED');
  });

  it('stop() kills with SIGKILL once the grace has passed, when SIGTERM is ignored', async () => {
    const output = recorder();
    const script = sh('trap "" TERM; sleep 30 & echo "grandchild $!"; wait');
    const attempt = await start(runtime(), processSpec(script), output.handlers);
    const grandchild = await grandchildOf(output);

    const asked = Date.now();
    await attempt.stop(0.3);
    const took = Date.now() - asked;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(3_000);
    expect(await attempt.exited).toMatchObject({ reason: 'STOPPED', message: expect.stringMatching(/SIGKILL/) });
    expect(await endsWithin(grandchild, 1_000)).toBe(true);
  });

  it('ends what an attempt left running in the background once it exits', async () => {
    const output = recorder();
    const script = sh('sleep 30 & echo "grandchild $!"; sleep 0.3');
    const attempt = await start(runtime(), processSpec(script), output.handlers);
    const grandchild = await grandchildOf(output);

    const { result: exit, ms } = await timed(attempt.exited);
    expect(exit).toEqual({ exitCode: 0, reason: 'EXITED' });
    // At once: not after the grandchild's 30 s, nor after giving up on the output pipe it held.
    expect(ms).toBeLessThan(1_500);
    expect(await endsWithin(grandchild, 1_000)).toBe(true);
  });

  it('reports a process killed by a signal nobody here sent as EXITED without an exit code', async () => {
    const { exit } = await run(processSpec(sh('kill -KILL $$')));
    expect(exit).toMatchObject({ reason: 'EXITED', exitCode: null, message: expect.stringMatching(/^killed by SIGKILL/) });
  });
});

describe('ProcessRuntime: attempts left by an earlier agent', () => {
  it('finds an attempt still running after the agent restarted, and stops its whole group', async () => {
    const before = runtime();
    const output = recorder();
    const spec = processSpec(FAMILY);
    const attempt: RunningAttempt = await start(before, spec, output.handlers);
    const grandchild = await grandchildOf(output);
    expect(await before.orphans()).toEqual([]);

    // The restarted agent: a new runtime over the same state folder.
    const after = runtime();
    const orphans = await after.orphans();
    expect(orphans.map(({ attemptId, jobId }) => ({ attemptId, jobId }))).toEqual([
      { attemptId: spec.attemptId, jobId: spec.jobId },
    ]);
    const [orphan] = orphans;
    expect(orphan?.adopt(recorder().handlers)).toBeUndefined();

    await orphan?.stop();
    expect(await endsWithin(grandchild, 1_000)).toBe(true);
    expect(fs.existsSync(path.join(stateDir, `${spec.attemptId}.json`))).toBe(false);
    expect(fs.existsSync(path.join(workRoot, spec.attemptId))).toBe(false);
    expect(await after.orphans()).toEqual([]);
    // The first runtime, still following its child here, sees it end by a signal it did not send.
    expect(await attempt.exited).toMatchObject({ reason: 'EXITED', exitCode: null, message: 'killed by SIGTERM' });
  });

  it('forgets records of attempts that are no longer running, and never takes a reused pid for one', async () => {
    fs.mkdirSync(stateDir, { recursive: true });
    const record = (attemptId: string, fields: object) => {
      fs.mkdirSync(path.join(workRoot, attemptId), { recursive: true });
      const startedAt = new Date().toISOString();
      const content = { attemptId, jobId: 'job', startedAt, processStartTicks: null, ...fields };
      fs.writeFileSync(path.join(stateDir, `${attemptId}.json`), JSON.stringify(content));
    };
    const deadPid = spawnSync('true').pid;
    record('ended', { pid: deadPid, pgid: deadPid });
    record('every-process', { pid: 1, pgid: 1 });
    fs.writeFileSync(path.join(stateDir, 'garbled.json'), '{"attemptId":');
    // A live process group of ours that is not the recorded one: its start time differs.
    const unrelated = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const unrelatedPid = unrelated.pid!;
    unfinishedGroups.add(unrelatedPid);
    record('reused-pid', { pid: unrelatedPid, pgid: unrelatedPid, processStartTicks: '1' });

    expect(await runtime().orphans()).toEqual([]);
    expect(fs.readdirSync(stateDir)).toEqual([]);
    expect(fs.readdirSync(workRoot)).toEqual([]);
    expect(isAlive(unrelatedPid)).toBe(true);
  });
});
