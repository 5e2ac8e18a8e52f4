// The rules one metric sample must follow, checked without a database: names, values, times and labels, in the
// object form and in the compact row form.
import { describe, expect, it } from 'vitest';
import { checkRow, checkSample, parseRfc3339, type SampleRules } from '../../subgraphs/monitoring/metrics/metric.inputs';
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

describe('checkRow', () => {
  it('reads [name, labels, value, at] as the object form, with times as RFC 3339 or epoch milliseconds', () => {
    const checked = { name: 'gpu_temperature_celsius', labels: { gpu: '0', node: 'n1' }, value: 61, at: now - 1000 };
    expect(checkRow(['gpu_temperature_celsius', { node: 'n1', gpu: '0' }, 61, now - 1000], rules)).toEqual(checked);
    expect(checkRow(['gpu_temperature_celsius', { gpu: '0', node: 'n1' }, 61, '2026-06-13T19:59:59Z'], rules)).toEqual(checked);
    expect(checkRow(['gpu_temperature_celsius', { gpu: '0', node: 'n1' }, '61', '2026-06-13T21:59:59.000+02:00'], rules)).toEqual(checked);
    expect(checkRow(['node_up', null, 1], rules)).toEqual({ name: 'node_up', labels: {}, value: 1, at: now });
  });

  it.each([
    [{}, 'row', /must be an array/],
    [['node_up', {}], 'row', /must be an array/],
    [['node_up', {}, 1, now, 'extra'], 'row', /must be an array/],
    [[7, {}, 1], 'name', /must be a string/],
    [['node_up', [{ key: 'gpu', value: '0' }], 1], 'labels', /must be an object/],
    [['node_up', 'gpu=0', 1], 'labels', /must be an object/],
    [['node_up', { gpu: 0 }, 1], 'labels.gpu', /must be a string/],
    [['node_up', { '0gpu': 'x' }, 1], 'labels.0gpu', /not a label name/],
    [['node_up', { __name__: 'x' }, 1], 'labels.__name__', /reserved/],
    [['node_up', {}, null], 'value', /is required/],
    [['node_up', {}, '+Inf'], 'value', /finite/],
    [['node_up', {}, true], 'value', /must be a number/],
    [['node_up', {}, 1, 'yesterday'], 'at', /not a valid time/],
    [['node_up', {}, 1, '2026-02-30T12:00:00Z'], 'at', /not a valid time/],
    [['node_up', {}, 1, now + 0.5], 'at', /not a valid time/],
    [['node_up', {}, 1, true], 'at', /not a valid time/],
    [['node_up', {}, 1, now + 10 * 60_000], 'at', /future/],
  ])('refuses %j at %s', (row, field, reason) => {
    expect(checkRow(row, rules)).toEqual({ field, reason: expect.stringMatching(reason) });
  });

  it('holds rows to the reporter\'s rules as samples', () => {
    expect(checkRow(['model_brier_score', { model: 'xg' }, 0.2], { ...rules, requiredLabels: ['model', 'version'] })).toMatchObject({ field: 'labels.version' });
    expect(checkRow(['node_up', { node: 'n2' }, 1], { ...rules, forcedLabels: { node: 'n1' } })).toMatchObject({ field: 'labels.node' });
    const many = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v']));
    expect(checkRow(['node_up', many, 1], { ...rules, forcedLabels: { node: 'n1' } })).toEqual({ field: 'labels', reason: expect.stringMatching(/at most 16/) });
  });
});

describe('parseRfc3339', () => {
  it('reads RFC 3339 times strictly', () => {
    expect(parseRfc3339('2026-06-13T20:00:00Z')).toBe(now);
    expect(parseRfc3339('2026-06-13T20:00:00.5Z')).toBe(now + 500);
    expect(parseRfc3339('2026-06-13T20:00:00.123456789Z')).toBe(now + 123);
    expect(parseRfc3339('2026-06-13T22:30:00+02:30')).toBe(now);
    expect(parseRfc3339('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    for (const text of ['2026-06-13', '2026-06-13 20:00:00Z', '2026-06-13T20:00:00', '2025-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-06-13T24:00:00Z', '2026-06-13T20:00:00+24:00']) {
      expect(parseRfc3339(text), text).toBeNaN();
    }
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
