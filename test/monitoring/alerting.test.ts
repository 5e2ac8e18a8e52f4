// Alert evaluation on its own: rules over series, round after round, through Prometheus' lifecycle (pending, firing,
// resolved), with matchers, grouping, fingerprints, the built-in rules, and rule validation.
import { describe, expect, it } from 'vitest';
import { BUILT_IN_RULES } from '../../subgraphs/monitoring/alerting/built-in-rules';
import { checkRule } from '../../subgraphs/monitoring/alerting/check-rule';
import { evaluate } from '../../subgraphs/monitoring/alerting/evaluate';
import { alertFingerprint } from '../../subgraphs/monitoring/alerting/fingerprint';
import type { AlertRule, AlertState, Comparison, EvaluationResult, Series } from '../../subgraphs/monitoring/alerting/types';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2026, 5, 14, 15, 0, 0);

/** A GPU temperature rule: the latest reading of each series above 85, no `for`, no keepFiringFor. */
function rule(overrides: Partial<AlertRule> = {}): AlertRule {
  return {
    id: 'rule-1',
    name: 'GpuHot',
    enabled: true,
    metric: 'gpu_temperature_celsius',
    matchers: [],
    aggregation: 'LAST',
    windowMs: 1 * MINUTE,
    comparison: 'GT',
    threshold: 85,
    forMs: 0,
    keepFiringForMs: 0,
    severity: 'WARNING',
    summary: 'GPU {{ $labels.gpu }} on {{ $labels.node }} at {{ $value }} °C',
    ...overrides,
  };
}

/** A series with one sample per value, the last at `end`, 10 s apart. */
function series(name: string, labels: Record<string, string>, values: number[], end: number): Series {
  return { name, labels, points: values.map((value, i) => ({ at: end - (values.length - 1 - i) * 10 * SECOND, value })) };
}

function gpu(node: string, index: string, value: number, at: number): Series {
  return series('gpu_temperature_celsius', { node, gpu: index }, [value], at);
}

/**
 * Evaluates round after round, every 30 s from T0, the series of each round given by `seriesAt(now)`;
 * returns each round's result.
 */
function rounds(rules: AlertRule[], count: number, seriesAt: (now: number, round: number) => Series[]): EvaluationResult[] {
  const results: EvaluationResult[] = [];
  let alerts: AlertState[] = [];
  for (let i = 0; i < count; i++) {
    const now = T0 + i * 30 * SECOND;
    const result = evaluate(rules, seriesAt(now, i), alerts, now);
    results.push(result);
    alerts = result.alerts;
  }
  return results;
}

const states = (result: EvaluationResult) => result.alerts.map((alert) => alert.state);
const moves = (result: EvaluationResult) => result.transitions.map((t) => `${t.from}->${t.to}${t.notify ? ' (notify)' : ''}`);

describe('the alert lifecycle', () => {
  it('goes pending, fires once the condition has held for `for`, and resolves when it clears', () => {
    // 90 °C for rounds 0-5 (2.5 minutes), then 70 °C.
    const results = rounds([rule({ forMs: 2 * MINUTE })], 8, (now, i) => [gpu('n1', '0', i <= 5 ? 90 : 70, now)]);
    expect(states(results[0]!)).toEqual(['PENDING']);
    expect(moves(results[0]!)).toEqual(['INACTIVE->PENDING']);
    expect(states(results[3]!)).toEqual(['PENDING']); // 1.5 minutes in
    expect(moves(results[4]!)).toEqual(['PENDING->FIRING (notify)']); // 2 minutes in
    const fired = results[4]!.alerts[0]!;
    expect(fired).toMatchObject({ activeAt: T0, firedAt: T0 + 2 * MINUTE, lastValue: 90, labels: { node: 'n1', gpu: '0' } });
    expect(fired.summary).toBe('GPU 0 on n1 at 90 °C');
    expect(moves(results[5]!)).toEqual([]);
    expect(moves(results[6]!)).toEqual(['FIRING->RESOLVED (notify)']);
    expect(results[6]!.alerts[0]).toMatchObject({ state: 'RESOLVED', resolvedAt: T0 + 3 * MINUTE, firedAt: T0 + 2 * MINUTE });
    // Resolved is reported once; the alert stays visible as RESOLVED.
    expect(moves(results[7]!)).toEqual([]);
    expect(states(results[7]!)).toEqual(['RESOLVED']);
  });

  it('fires at once when `for` is 0', () => {
    const [first] = rounds([rule()], 1, (now) => [gpu('n1', '0', 90, now)]);
    expect(moves(first!)).toEqual(['INACTIVE->FIRING (notify)']);
  });

  it('drops a resolved alert after the retention, and starts over when the condition returns', () => {
    const firing = evaluate([rule()], [gpu('n1', '0', 90, T0)], [], T0);
    const resolved = evaluate([rule()], [gpu('n1', '0', 70, T0 + MINUTE)], firing.alerts, T0 + MINUTE);
    expect(states(resolved)).toEqual(['RESOLVED']);
    const later = evaluate([rule()], [gpu('n1', '0', 70, T0 + 16 * MINUTE)], resolved.alerts, T0 + 16 * MINUTE);
    expect(later.alerts).toEqual([]);
    expect(later.transitions).toEqual([]);

    const again = evaluate([rule({ forMs: MINUTE })], [gpu('n1', '0', 95, T0 + 2 * MINUTE)], resolved.alerts, T0 + 2 * MINUTE);
    expect(moves(again)).toEqual(['RESOLVED->PENDING']);
    expect(again.alerts[0]).toMatchObject({ activeAt: T0 + 2 * MINUTE, firedAt: null, resolvedAt: null });
  });

  it('keeps firing for `keepFiringFor` after the condition last held', () => {
    // Hot in rounds 0-1, cool from round 2 (T0 + 60 s); keepFiringFor 90 s from the last hot round (T0 + 30 s).
    const results = rounds([rule({ keepFiringForMs: 90 * SECOND })], 6, (now, i) => [gpu('n1', '0', i <= 1 ? 90 : 70, now)]);
    expect(states(results[0]!)).toEqual(['FIRING']);
    expect(results[1]!.alerts[0]!.keepFiringUntil).toBe(T0 + 2 * MINUTE);
    expect(states(results[2]!)).toEqual(['FIRING']);
    expect(states(results[3]!)).toEqual(['FIRING']);
    expect(moves(results[4]!)).toEqual(['FIRING->RESOLVED (notify)']); // T0 + 2 min
  });

  it('never fires an alert that flaps within `for`, and never notifies about it', () => {
    const results = rounds([rule({ forMs: 2 * MINUTE })], 12, (now, i) => [gpu('n1', '0', i % 3 === 2 ? 70 : 90, now)]);
    const all = results.flatMap(moves);
    expect(all).not.toContain('PENDING->FIRING (notify)');
    expect(all).toContain('PENDING->INACTIVE');
    expect(results.flatMap((r) => r.transitions).every((t) => !t.notify)).toBe(true);
  });

  it('clears the alerts of a series that stops reporting, and of a rule disabled or deleted', () => {
    const firing = evaluate([rule()], [gpu('n1', '0', 90, T0)], [], T0);
    // No sample in the window: not met (the rule has no absentFires).
    const stale = evaluate([rule()], [gpu('n1', '0', 90, T0)], firing.alerts, T0 + 2 * MINUTE);
    expect(moves(stale)).toEqual(['FIRING->RESOLVED (notify)']);
    const gone = evaluate([rule()], [], firing.alerts, T0 + 30 * SECOND);
    expect(moves(gone)).toEqual(['FIRING->RESOLVED (notify)']);
    const disabled = evaluate([rule({ enabled: false })], [gpu('n1', '0', 90, T0 + 30 * SECOND)], firing.alerts, T0 + 30 * SECOND);
    expect(moves(disabled)).toEqual(['FIRING->RESOLVED (notify)']);
    const deleted = evaluate([], [], firing.alerts, T0 + 30 * SECOND);
    expect(moves(deleted)).toEqual(['FIRING->RESOLVED (notify)']);
  });

  it('skips a rule that is not valid, reports it, and carries its alerts over unchanged', () => {
    const firing = evaluate([rule()], [gpu('n1', '0', 90, T0)], [], T0);
    const broken = rule({ threshold: Number.NaN });
    const result = evaluate([broken, rule({ id: 'rule-2' })], [gpu('n1', '0', 70, T0 + 30 * SECOND)], firing.alerts, T0 + 30 * SECOND);
    expect(result.invalidRules).toEqual([{ ruleId: 'rule-1', problems: [expect.objectContaining({ field: 'threshold' })] }]);
    expect(result.alerts).toEqual(firing.alerts);
    expect(result.transitions).toEqual([]);
  });
});

describe('identity, matchers and grouping', () => {
  it('gives an alert the same fingerprint whatever the order of its labels, and a different one per rule', () => {
    expect(alertFingerprint('rule-1', { node: 'n1', gpu: '0' })).toBe(alertFingerprint('rule-1', { gpu: '0', node: 'n1' }));
    expect(alertFingerprint('rule-1', { node: 'n1' })).not.toBe(alertFingerprint('rule-2', { node: 'n1' }));
    expect(alertFingerprint('rule-1', { node: 'n1' })).not.toBe(alertFingerprint('rule-1', { node: 'n2' }));
    expect(alertFingerprint('rule-1', { node: 'n1' })).toMatch(/^[0-9a-f]{16}$/);

    // The same series with its labels in another order the next round is the same alert: it fires, not a new one.
    const first = evaluate([rule({ forMs: MINUTE })], [gpu('n1', '0', 90, T0)], [], T0);
    const reordered: Series = { name: 'gpu_temperature_celsius', labels: { gpu: '0', node: 'n1' }, points: [{ at: T0 + MINUTE, value: 91 }] };
    const second = evaluate([rule({ forMs: MINUTE })], [reordered], first.alerts, T0 + MINUTE);
    expect(moves(second)).toEqual(['PENDING->FIRING (notify)']);
    expect(second.alerts).toHaveLength(1);
    expect(second.alerts[0]!.fingerprint).toBe(first.alerts[0]!.fingerprint);
  });

  it('selects series with =, !=, =~ and !~ matchers, regexes anchored at both ends', () => {
    const all = [
      series('gpu_temperature_celsius', { node: 'gpu-a1', gpu: '0', zone: 'eu' }, [90], T0),
      series('gpu_temperature_celsius', { node: 'gpu-a2', gpu: '0', zone: 'us' }, [90], T0),
      series('gpu_temperature_celsius', { node: 'gpu-b1', gpu: '1', zone: 'eu' }, [90], T0),
      series('gpu_temperature_celsius', { node: 'cpu-gpu-a3', gpu: '0' }, [90], T0),
      series('node_cpu_utilization', { node: 'gpu-a1' }, [90], T0),
    ];
    const firingNodes = (matchers: AlertRule['matchers']) =>
      evaluate([rule({ matchers })], all, [], T0)
        .alerts.map((alert) => alert.labels.node)
        .sort();
    expect(firingNodes([{ label: 'zone', op: '=', value: 'eu' }])).toEqual(['gpu-a1', 'gpu-b1']);
    expect(firingNodes([{ label: 'zone', op: '!=', value: 'eu' }])).toEqual(['cpu-gpu-a3', 'gpu-a2']);
    expect(firingNodes([{ label: 'node', op: '=~', value: 'gpu-a.*' }])).toEqual(['gpu-a1', 'gpu-a2']);
    expect(firingNodes([{ label: 'node', op: '!~', value: 'gpu-a.*|gpu-b1' }])).toEqual(['cpu-gpu-a3']);
    // A missing label reads as empty: zone="" selects the series without one.
    expect(firingNodes([{ label: 'zone', op: '=', value: '' }])).toEqual(['cpu-gpu-a3']);
    expect(
      firingNodes([
        { label: 'zone', op: '=', value: 'eu' },
        { label: 'gpu', op: '=~', value: '0|2' },
      ]),
    ).toEqual(['gpu-a1']);
  });

  it('groups series by the `by` labels, one alert per group with only those labels', () => {
    const all = [
      series('gpu_temperature_celsius', { node: 'n1', gpu: '0' }, [80, 80], T0),
      series('gpu_temperature_celsius', { node: 'n1', gpu: '1' }, [90, 100], T0),
      series('gpu_temperature_celsius', { node: 'n2', gpu: '0' }, [84, 86], T0),
      series('gpu_temperature_celsius', { node: 'n2', gpu: '1' }, [84, 86], T0),
    ];
    const byNode = (aggregation: AlertRule['aggregation']) =>
      Object.fromEntries(evaluate([rule({ aggregation, by: ['node'], comparison: 'GTE', threshold: 0 })], all, [], T0).alerts.map((a) => [a.labels.node, a.lastValue]));
    expect(byNode('AVG')).toEqual({ n1: 87.5, n2: 85 }); // mean of the series' means: (80 + 95) / 2
    expect(byNode('MAX')).toEqual({ n1: 100, n2: 86 });
    expect(byNode('MIN')).toEqual({ n1: 80, n2: 84 });
    expect(byNode('COUNT')).toEqual({ n1: 4, n2: 4 });
    expect(byNode('SUM')).toEqual({ n1: 350, n2: 340 });
    expect(byNode('LAST')).toEqual({ n1: 180, n2: 172 });

    const hot = evaluate([rule({ aggregation: 'AVG', by: ['node'] })], all, [], T0);
    expect(hot.alerts.map((alert) => alert.labels)).toEqual([{ node: 'n1' }]);
    expect(hot.alerts[0]!.summary).toBe('GPU  on n1 at 87.5 °C');
  });

  it('computes a counter rate per second, across resets', () => {
    // 10 s apart: +10, reset to 5, +10 → 25 over 30 s.
    const counter = series('jobs_failed_total', { model: 'xg' }, [100, 110, 5, 15], T0);
    const result = evaluate([rule({ metric: 'jobs_failed_total', aggregation: 'RATE', comparison: 'GT', threshold: 0.5 })], [counter], [], T0);
    expect(result.alerts[0]!.lastValue).toBeCloseTo(25 / 30);
  });

  it('applies each comparison', () => {
    const cases: [Comparison, number, boolean][] = [
      ['GT', 86, true],
      ['GT', 85, false],
      ['GTE', 85, true],
      ['GTE', 84, false],
      ['LT', 84, true],
      ['LT', 85, false],
      ['LTE', 85, true],
      ['LTE', 86, false],
      ['EQ', 85, true],
      ['EQ', 85.5, false],
      ['NE', 85.5, true],
      ['NE', 85, false],
    ];
    for (const [comparison, value, fires] of cases) {
      const result = evaluate([rule({ comparison })], [gpu('n1', '0', value, T0)], [], T0);
      expect({ comparison, value, fires: result.alerts.length === 1 }).toEqual({ comparison, value, fires });
    }
  });
});

describe('rules sharing work within a round', () => {
  // A round computes a metric's windows, selections, groupings and summaries once for all the rules asking; each rule
  // must still see its own.
  const fleet = (now: number) => [
    series('gpu_temperature_celsius', { node: 'n1', gpu: '0', zone: 'eu' }, [95, 95, 95, 95, 95, 95, 70], now),
    series('gpu_temperature_celsius', { node: 'n1', gpu: '1', zone: 'eu' }, [60, 60, 60, 60, 60, 60, 80], now),
    series('gpu_temperature_celsius', { node: 'n2', gpu: '0', zone: 'us' }, [50, 50, 50, 50, 50, 50, 99], now),
    series('gpu_temperature_celsius', { node: 'n3', gpu: '0' }, [88, 88, 88, 88, 88, 88, 88], now),
  ];

  it('gives rules on the same series their own window, aggregation, grouping and threshold', () => {
    const rules = [
      rule({ id: 'last', aggregation: 'LAST', comparison: 'GTE', threshold: 0 }),
      rule({ id: 'avg-20s', aggregation: 'AVG', windowMs: 20 * SECOND, comparison: 'GTE', threshold: 0 }),
      rule({ id: 'avg-1m', aggregation: 'AVG', windowMs: MINUTE, comparison: 'GTE', threshold: 0 }),
      rule({ id: 'max-by-node', aggregation: 'MAX', by: ['node'], comparison: 'GTE', threshold: 0 }),
      rule({ id: 'avg-by-node', aggregation: 'AVG', by: ['node'], comparison: 'GTE', threshold: 0 }),
      rule({ id: 'avg-by-node-gpu', aggregation: 'AVG', by: ['node', 'gpu'], comparison: 'GTE', threshold: 0 }),
      rule({ id: 'hot-by-node', aggregation: 'MAX', by: ['node'], comparison: 'GT', threshold: 90 }),
      rule({ id: 'eu-by-zone', aggregation: 'LAST', by: ['zone'], matchers: [{ label: 'zone', op: '=', value: 'eu' }], comparison: 'GTE', threshold: 0 }),
    ];
    const result = evaluate(rules, fleet(T0), [], T0);
    const of = (ruleId: string) => result.alerts.filter((alert) => alert.ruleId === ruleId).map((alert) => [alert.labels, alert.lastValue]);
    const series4 = (values: number[]) => values.map((value, i) => [fleet(T0)[i]!.labels, value]);

    expect(of('last')).toEqual(series4([70, 80, 99, 88]));
    // Samples are 10 s apart and a window leaves out the one at its start: 20 s hold the last 2, a minute the last 6.
    expect(of('avg-20s')).toEqual(series4([82.5, 70, 74.5, 88]));
    expect(of('avg-1m')).toEqual(series4([(95 * 5 + 70) / 6, (60 * 5 + 80) / 6, (50 * 5 + 99) / 6, 88]));
    expect(of('max-by-node')).toEqual([
      [{ node: 'n1' }, 95],
      [{ node: 'n2' }, 99],
      [{ node: 'n3' }, 88],
    ]);
    expect(of('avg-by-node')).toEqual([
      [{ node: 'n1' }, ((95 * 5 + 70) / 6 + (60 * 5 + 80) / 6) / 2],
      [{ node: 'n2' }, (50 * 5 + 99) / 6],
      [{ node: 'n3' }, 88],
    ]);
    expect(of('avg-by-node-gpu').map(([labels]) => labels)).toEqual([
      { node: 'n1', gpu: '0' },
      { node: 'n1', gpu: '1' },
      { node: 'n2', gpu: '0' },
      { node: 'n3', gpu: '0' },
    ]);
    expect(of('hot-by-node')).toEqual([
      [{ node: 'n1' }, 95],
      [{ node: 'n2' }, 99],
    ]);
    expect(of('eu-by-zone')).toEqual([[{ zone: 'eu' }, 150]]);
    for (const alert of result.alerts) expect(alert.fingerprint).toBe(alertFingerprint(alert.ruleId, alert.labels));
  });

  it('fills each rule\'s own threshold into a summary template other rules share, and an edited summary at once', () => {
    const summary = '{{ $labels.node }}: {{ $value }} over {{ $threshold }}';
    const rules = [rule({ id: 'warm', threshold: 80, summary }), rule({ id: 'hot', threshold: 90.125, summary })];
    const first = evaluate(rules, [gpu('n1', '0', 95.5, T0)], [], T0);
    expect(first.alerts.map((alert) => alert.summary)).toEqual(['n1: 95.5 over 80', 'n1: 95.5 over 90.13']);

    const edited = [rule({ id: 'warm', threshold: 80, summary: 'still {{ $value }}' }), rules[1]!];
    const second = evaluate(edited, [gpu('n1', '0', 96, T0 + 30 * SECOND)], first.alerts, T0 + 30 * SECOND);
    expect(second.alerts.map((alert) => alert.summary)).toEqual(['still 96', 'n1: 96 over 90.13']);
  });

  it('writes values in summaries as whole numbers, two decimals, or three significant digits', () => {
    const summaryOf = (value: number) =>
      evaluate([rule({ summary: '{{ $value }}', comparison: 'NE', threshold: 12345 })], [gpu('n1', '0', value, T0)], [], T0).alerts[0]!.summary;
    expect([90, -3, 87.456, 1.2, 100.05, 3.1, -2.5, 1.999, 0.012345, -0.5, 123456789.128].map(summaryOf)).toEqual([
      '90',
      '-3',
      '87.46',
      '1.2',
      '100.05',
      '3.1',
      '-2.5',
      '2',
      '0.0123',
      '-0.5',
      '123456789.13',
    ]);
  });

  it('selects by regex on each value of a label once, a missing label reading as empty, and by several matchers', () => {
    const all = fleet(T0);
    const nodes = (matchers: AlertRule['matchers'], by?: string[]) =>
      evaluate([rule({ matchers, by, comparison: 'GTE', threshold: 0 })], all, [], T0).alerts.map((alert) => alert.labels.node ?? alert.labels.zone);
    expect(nodes([{ label: 'zone', op: '=~', value: '' }])).toEqual(['n3']);
    expect(nodes([{ label: 'zone', op: '!~', value: 'e.' }])).toEqual(['n2', 'n3']);
    expect(nodes([{ label: 'node', op: '=', value: 'n1' }, { label: 'gpu', op: '!=', value: '0' }])).toEqual(['n1']);
    expect(nodes([{ label: 'node', op: '=~', value: 'n[12]' }], ['zone'])).toEqual(['eu', 'us']);
    // A group without the `by` label has none: n3's series make a group of their own with no labels.
    expect(evaluate([rule({ by: ['zone'], comparison: 'GTE', threshold: 0 })], all, [], T0).alerts.map((alert) => alert.labels)).toEqual([
      { zone: 'eu' },
      { zone: 'us' },
      {},
    ]);
  });
});

describe('built-in rules', () => {
  const builtIn = (id: string) => BUILT_IN_RULES.find((r) => r.id === id)!;

  it('are all valid and enabled', () => {
    for (const builtInRule of BUILT_IN_RULES) expect({ id: builtInRule.id, problems: checkRule(builtInRule), enabled: builtInRule.enabled }).toEqual({ id: builtInRule.id, problems: [], enabled: true });
  });

  it('GPU temperature: 90 °C against 85 fires after its 2 minutes, per node and GPU', () => {
    const hot = builtIn('builtin-gpu-temperature-high');
    const results = rounds([hot], 6, (now) => [
      series('gpu_temperature_celsius', { node: 'n1', gpu: '3' }, [90, 90, 90, 90, 90, 90], now),
      series('gpu_temperature_celsius', { node: 'n1', gpu: '2' }, [60, 60, 60, 60, 60, 60], now),
    ]);
    expect(moves(results[0]!)).toEqual(['INACTIVE->PENDING']);
    expect(moves(results[4]!)).toEqual(['PENDING->FIRING (notify)']);
    expect(results[4]!.alerts).toEqual([
      expect.objectContaining({
        state: 'FIRING',
        severity: hot.severity,
        labels: { node: 'n1', gpu: '3' },
        summary: 'GPU 3 on node n1 is at 90 °C (above 85 °C)',
        fingerprint: alertFingerprint(hot.id, { gpu: '3', node: 'n1' }),
      }),
    ]);
  });

  it('node down: fires when a node known to the storage stops sending, and resolves when it is back', () => {
    const down = builtIn('builtin-node-down');
    // n1 reports every round; n2 stops after round 1 (its last sample stays in the storage).
    const results = rounds([down], 8, (now, i) => [
      series('node_up', { node: 'n1' }, [1], now),
      series('node_up', { node: 'n2' }, [1], i <= 1 ? now : T0 + 30 * SECOND),
    ]);
    expect(results[2]!.alerts).toEqual([]); // 30 s after its last sample: within the window
    expect(moves(results[3]!)).toEqual(['INACTIVE->FIRING (notify)']); // 60 s after
    expect(results[3]!.alerts[0]).toMatchObject({ labels: { node: 'n2' }, lastValue: null, severity: 'CRITICAL' });
    expect(results[3]!.alerts[0]!.summary).toBe('Node n2 is down: no heartbeat in the last minute');
    const back = evaluate([down], [series('node_up', { node: 'n2' }, [1], T0 + 5 * MINUTE)], results[7]!.alerts, T0 + 5 * MINUTE);
    expect(moves(back)).toEqual(['FIRING->RESOLVED (notify)']);
    // node_up 0 (the scheduler found it NOT_READY) fires too.
    expect(evaluate([down], [series('node_up', { node: 'n3' }, [0], T0)], [], T0).alerts).toHaveLength(1);
  });

  it('job failure rate, stuck pending job and memory pressure fire on representative data', () => {
    const finished = (job: string, failed: number) => series('job_failed', { job, model: 'xg-goals' }, [failed], T0 - 10 * MINUTE);
    const failures = rounds([builtIn('builtin-job-failure-rate')], 12, () => [finished('j1', 1), finished('j2', 1), finished('j3', 0), finished('j4', 0)]);
    expect(results(failures, 11)).toEqual([{ state: 'FIRING', labels: { model: 'xg-goals' }, lastValue: 0.5 }]);

    const pending = evaluate([builtIn('builtin-job-stuck-pending')], [series('job_pending_seconds', { job: 'j9', model: 'xg', node: '' }, [960], T0)], [], T0);
    expect(results([pending], 0)).toEqual([{ state: 'FIRING', labels: { job: 'j9', model: 'xg' }, lastValue: 960 }]);

    const memory = rounds([builtIn('builtin-node-memory-pressure')], 12, (now) => [
      series('node_memory_available_ratio', { node: 'n1' }, [0.05], now),
      series('node_memory_available_ratio', { node: 'n2' }, [0.5], now),
    ]);
    expect(results(memory, 10)).toEqual([{ state: 'FIRING', labels: { node: 'n1' }, lastValue: 0.05 }]);

    function results(all: EvaluationResult[], round: number) {
      return all[round]!.alerts.map(({ state, labels, lastValue }) => ({ state, labels, lastValue }));
    }
  });
});

describe('checkRule', () => {
  it('accepts a valid rule', () => {
    expect(checkRule(rule({ matchers: [{ label: 'node', op: '=~', value: 'gpu-.*' }], by: ['node'], runbookUrl: 'https://runbooks.example/gpu' }))).toEqual([]);
  });

  it.each([
    ['an unknown comparison', { comparison: 'GREATER' as Comparison }, 'comparison', 'unknown comparison "GREATER": expected one of GT, GTE, LT, LTE, EQ, NE'],
    ['a NaN threshold', { threshold: Number.NaN }, 'threshold', 'the threshold must be a finite number, not NaN'],
    ['an infinite threshold', { threshold: Number.POSITIVE_INFINITY }, 'threshold', 'the threshold must be a finite number, not Infinity'],
    ['a negative for', { forMs: -1 }, 'forMs', 'forMs cannot be negative (-1)'],
    ['a negative keepFiringFor', { keepFiringForMs: -60_000 }, 'keepFiringForMs', 'keepFiringForMs cannot be negative (-60000)'],
    ['a zero window', { windowMs: 0 }, 'windowMs', 'the window must be a positive number of milliseconds, not 0'],
    ['an empty metric name', { metric: '' }, 'metric', 'the metric name is empty'],
    ['a malformed metric name', { metric: 'gpu temp' }, 'metric', '"gpu temp" is not a metric name: letters, digits, _ and :, not starting with a digit'],
    ['a bad regex', { matchers: [{ label: 'node', op: '=~' as const, value: 'gpu-(' }] }, 'matchers[0].value', 'bad regular expression "gpu-("'],
    ['an unknown matcher operator', { matchers: [{ label: 'node', op: '==' as '=', value: 'n1' }] }, 'matchers[0].op', 'unknown operator "==": expected one of =, !=, =~, !~'],
    ['a bad label name', { matchers: [{ label: '0node', op: '=' as const, value: 'n1' }] }, 'matchers[0].label', '"0node" is not a label name'],
    ['an unknown aggregation', { aggregation: 'MEDIAN' as 'AVG' }, 'aggregation', 'unknown aggregation "MEDIAN"'],
    ['an unknown severity', { severity: 'PAGE' as 'INFO' }, 'severity', 'unknown severity "PAGE": expected one of INFO, WARNING, CRITICAL'],
    ['a label grouped twice', { by: ['node', 'node'] }, 'by[1]', 'label "node" is listed twice'],
    ['an unknown placeholder', { summary: 'hot {{ $labels }}' }, 'summary', 'unknown placeholder {{ $labels }}'],
    ['an unclosed placeholder', { summary: 'hot {{ $value' }, 'summary', 'a placeholder opened with {{ is not closed with }}'],
    ['a runbook that is not a web URL', { runbookUrl: 'javascript:alert(1)' }, 'runbookUrl', 'is not an http(s) URL'],
  ])('rejects %s', (_case, overrides: Partial<AlertRule>, field, message) => {
    const problems = checkRule(rule(overrides));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe(field);
    expect(problems[0]!.message).toContain(message);
  });

  it('rejects an unknown metric when told the known ones, and lists every problem at once', () => {
    expect(checkRule(rule({ metric: 'gpu_temprature_celsius' }), { knownMetrics: new Set(['gpu_temperature_celsius']) })).toEqual([
      { field: 'metric', message: 'unknown metric "gpu_temprature_celsius": no samples of it were ever stored' },
    ]);
    const problems = checkRule(rule({ metric: '', threshold: Number.NaN, forMs: -5 }));
    expect(problems.map((problem) => problem.field)).toEqual(['metric', 'threshold', 'forMs']);
  });
});
