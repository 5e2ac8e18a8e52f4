// The simulated runtime: attempts that "run" for the time their env declares and end as it says, without processes.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AttemptHandlers, AttemptSpec, LogLine } from '../../agent/runtimes/runtime';
import { SimulatedRuntime } from '../../agent/runtimes/simulated';
import { silentLogger } from '../../common/logger';

const simulated = new SimulatedRuntime({ logger: silentLogger });

function simulatedSpec(env: Record<string, string>, overrides: Partial<AttemptSpec> = {}): AttemptSpec {
  return {
    attemptId: randomUUID(),
    jobId: randomUUID(),
    attemptNumber: 1,
    runtime: 'simulated',
    image: null,
    command: null,
    args: [],
    env,
    cpuMillicores: 1000,
    memoryMiB: 512,
    gpuIndices: [],
    timeoutSeconds: null,
    ...overrides,
  };
}

function recorder() {
  const lines: LogLine[] = [];
  let runningCalls = 0;
  const handlers: AttemptHandlers = { log: (line) => lines.push(line), running: () => runningCalls++ };
  return { handlers, texts: () => lines.map((line) => line.text), runningCalls: () => runningCalls };
}

async function timed<T>(work: Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await work;
  return { result, ms: Date.now() - started };
}

describe('SimulatedRuntime', () => {
  it('is always available and leaves no orphans behind', async () => {
    expect(await simulated.available()).toBe(true);
    expect(await simulated.orphans()).toEqual([]);
  });

  it('runs for the declared time, then exits with code 0', async () => {
    const output = recorder();
    const started = Date.now();
    const attempt = await simulated.start(simulatedSpec({ TOUCHLINE_SIMULATED_SECONDS: '0.25' }), output.handlers);
    expect(output.runningCalls()).toBe(1);
    expect(output.texts()).toEqual(['simulated run of 0.25 s']);

    expect(await attempt.exited).toEqual({ exitCode: 0, reason: 'EXITED' });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(240);
    expect(took).toBeLessThan(1_000);
    expect(output.texts()).toEqual(['simulated run of 0.25 s', 'simulated exit with code 0']);
  });

  it('runs for one second when no duration is declared', async () => {
    const { result, ms } = await timed((await simulated.start(simulatedSpec({}), recorder().handlers)).exited);
    expect(result).toEqual({ exitCode: 0, reason: 'EXITED' });
    expect(ms).toBeGreaterThanOrEqual(990);
    expect(ms).toBeLessThan(2_000);
  });

  it('exits with the declared exit code', async () => {
    const spec = simulatedSpec({ TOUCHLINE_SIMULATED_SECONDS: '0', TOUCHLINE_SIMULATED_EXIT_CODE: '3' });
    expect(await (await simulated.start(spec, recorder().handlers)).exited).toEqual({ exitCode: 3, reason: 'EXITED' });
  });

  it.each<Record<string, string>>([
    { TOUCHLINE_SIMULATED_SECONDS: 'soon' },
    { TOUCHLINE_SIMULATED_SECONDS: '-1' },
    { TOUCHLINE_SIMULATED_SECONDS: '' },
    { TOUCHLINE_SIMULATED_SECONDS: 'Infinity' },
    { TOUCHLINE_SIMULATED_SECONDS: '1e3' },
    { TOUCHLINE_SIMULATED_EXIT_CODE: '1.5' },
    { TOUCHLINE_SIMULATED_EXIT_CODE: '256' },
    { TOUCHLINE_SIMULATED_EXIT_CODE: 'failure' },
  ])('refuses to start with %o', async (env) => {
    const output = recorder();
    const exit = await (await simulated.start(simulatedSpec(env), output.handlers)).exited;
    expect(exit).toMatchObject({ exitCode: null, reason: 'START_FAILED' });
    expect(exit.message).toContain(Object.keys(env)[0]);
    expect(output.runningCalls()).toBe(0);
  });

  it('stops at its time limit', async () => {
    const spec = simulatedSpec({ TOUCHLINE_SIMULATED_SECONDS: '30' }, { timeoutSeconds: 0.1 });
    const { result, ms } = await timed((await simulated.start(spec, recorder().handlers)).exited);
    expect(result).toMatchObject({ exitCode: null, reason: 'TIMEOUT' });
    expect(ms).toBeLessThan(1_000);
  });

  it('stops at once when asked, and may be asked again', async () => {
    const attempt = await simulated.start(simulatedSpec({ TOUCHLINE_SIMULATED_SECONDS: '30' }), recorder().handlers);
    const { ms } = await timed(Promise.all([attempt.stop(), attempt.stop(5)]));
    expect(ms).toBeLessThan(100);
    expect(await attempt.exited).toMatchObject({ exitCode: null, reason: 'STOPPED' });
    await attempt.stop();
    expect((await attempt.exited).reason).toBe('STOPPED');
  });

  it('keeps the outcome of an attempt that had already ended when asked to stop', async () => {
    const attempt = await simulated.start(simulatedSpec({ TOUCHLINE_SIMULATED_SECONDS: '0' }), recorder().handlers);
    await attempt.exited;
    await attempt.stop();
    expect(await attempt.exited).toEqual({ exitCode: 0, reason: 'EXITED' });
  });

  it('runs thousands of attempts at once', async () => {
    const specs = Array.from({ length: 5_000 }, () => simulatedSpec({ TOUCHLINE_SIMULATED_SECONDS: '0.2' }));
    const { result, ms } = await timed(
      Promise.all(specs.map(async (spec) => (await simulated.start(spec, recorder().handlers)).exited)),
    );
    expect(result.every((exit) => exit.reason === 'EXITED' && exit.exitCode === 0)).toBe(true);
    expect(ms).toBeLessThan(2_000);
  });
});
