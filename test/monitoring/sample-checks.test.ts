// The rules one metric sample must follow, checked without a database: names, values, times and labels.
import { describe, expect, it } from 'vitest';
import { checkSample, type SampleRules } from '../../subgraphs/monitoring/metrics/metric.inputs';
import { SampleValueScalar } from '../../subgraphs/monitoring/metrics/metric.types';

const now = Date.UTC(2026, 5, 13, 20, 0, 0);
const rules: SampleRules = { now, oldest: now - 24 * 3_600_000, requiredLabels: [], forcedLabels: {} };

describe('checkSample', () => {
  it('sorts the labels, and takes now when the time is left out', () => {
    const checked = checkSample({ name: 'gpu_temperature_celsius', labels: [{ key: 'node', value: 'n1' }, { key: 'gpu', value: '0' }], value: 61 }, rules);
    expect(checked).toEqual({ name: 'gpu_temperature_celsius', labels: { gpu: '0', node: 'n1' }, value: 61, at: now });
    expect(Object.keys((checked as { labels: object }).labels)).toEqual(['gpu', 'node']);
  });

  it.each([
    [{ name: '' }, 'name', /empty/],
    [{ name: 'x'.repeat(201) }, 'name', /at most 200/],
    [{ name: 'node cpu' }, 'name', /not a metric name/],
    [{ value: Number.NaN }, 'value', /finite \(got NaN\)/],
    [{ value: -Infinity }, 'value', /finite \(got -Inf\)/],
    [{ value: { notANumber: 'lots' } }, 'value', /must be a number/],
    [{ at: new Date(now + 10 * 60_000) }, 'at', /future/],
    [{ at: new Date(now - 25 * 3_600_000) }, 'at', /older than the raw retention/],
    [{ labels: Array.from({ length: 17 }, (_, i) => ({ key: `k${i}`, value: 'v' })) }, 'labels', /at most 16/],
    [{ labels: [{ key: '__name__', value: 'x' }] }, 'labels.__name__', /reserved/],
    [{ labels: [{ key: 'gpu', value: '' }] }, 'labels.gpu', /empty/],
    [{ labels: [{ key: 'gpu', value: 'x'.repeat(201) }] }, 'labels.gpu', /at most 200/],
  ])('refuses %j at %s', (change, field, reason) => {
    const problem = checkSample({ name: 'job_duration_seconds', value: 1, ...change } as never, rules);
    expect(problem).toEqual({ field, reason: expect.stringMatching(reason) });
  });

  it('requires the labels of model metrics, and holds a node to its own node label', () => {
    const model = { ...rules, requiredLabels: ['model', 'version'] };
    expect(checkSample({ name: 'model_brier_score', labels: [{ key: 'model', value: 'xg' }], value: 0.2 }, model)).toMatchObject({ field: 'labels.version' });
    const node = { ...rules, forcedLabels: { node: 'n1' } };
    expect(checkSample({ name: 'node_cpu_utilization', value: 0.5 }, node)).toMatchObject({ labels: { node: 'n1' } });
    expect(checkSample({ name: 'node_cpu_utilization', labels: [{ key: 'node', value: 'n2' }], value: 0.5 }, node)).toMatchObject({ field: 'labels.node' });
  });
});

describe('SampleValue', () => {
  it("reads numbers and Prometheus' spellings of NaN and infinities, keeping anything else to refuse", () => {
    expect(SampleValueScalar.parseValue(0.5)).toBe(0.5);
    expect(SampleValueScalar.parseValue('NaN')).toBeNaN();
    expect(SampleValueScalar.parseValue('+Inf')).toBe(Infinity);
    expect(SampleValueScalar.parseValue('-Inf')).toBe(-Infinity);
    expect(SampleValueScalar.parseValue('12.5')).toBe(12.5);
    expect(SampleValueScalar.parseValue('lots')).toEqual({ notANumber: 'lots' });
    expect(SampleValueScalar.parseValue(true)).toEqual({ notANumber: 'true' });
  });
});
