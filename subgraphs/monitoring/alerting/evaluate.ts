// Alert evaluation: one round of every rule over the series the storage returned, moving each alert through
// Prometheus' lifecycle. A pure function of rules, series, the previous round's alerts and the time: no database,
// no GraphQL, no clock, so it can be read, tested and benchmarked alone.
//
// For each enabled rule:
//  1. Its metric's series (an index by name: a rule never scans other metrics) are selected by its matchers, each
//     reduced over the window, then grouped by its `by` labels, or one group per series. Reductions, selections and
//     groupings are kept for the round, so rules sharing them (the usual case) pay for them once. A group's value is
//     compared with the threshold; a group with no value meets the condition only for an `absentFires` rule. A series
//     not passed at all is not there: its alert clears.
//  2. Each group is an alert identified by a fingerprint of the rule id and its labels, and moves as Prometheus moves
//     it: condition met → PENDING from `activeAt`, FIRING once `now - activeAt >= for` (at once when `for` is 0);
//     condition cleared → a PENDING alert goes back to INACTIVE without notifying, a FIRING one keeps firing until
//     `keepFiringFor` has passed since it last met the condition, then RESOLVED. RESOLVED alerts stay in the result
//     for the retention (so `alerts(state: RESOLVED)` shows them) and are then dropped; met again, they start over.
//  3. Alerts of rules now disabled or deleted clear the same way; those of rules `checkRule` rejects are carried over
//     unchanged, as nothing can be said of them.
// Every change of state is a transition; those receivers hear of (→ FIRING, FIRING → RESOLVED) say `notify`.
//
// What a round builds for itself is object literals and functions rather than class instances: V8 keeps an object
// literal's hidden class with the function that makes it, but a class instance's only while some instance lives, so
// a full garbage collection between rounds would throw away the optimized code relying on it and every round would
// start in unoptimized code.
import { aggregate, windowStats, type WindowStats } from './aggregation';
import { checkRule } from './check-rule';
import { canonicalLabels, fingerprintFrom, ruleFingerprintSeed, type FingerprintSeed } from './fingerprint';
import { compileValueMatcher } from './matchers';
import { compileSummary, parseSummary, renderSummary, type CompiledSummary } from './summary-template';
import {
  DEFAULT_EVALUATION_OPTIONS,
  type Aggregation,
  type AlertRule,
  type AlertState,
  type AlertStatus,
  type EvaluationOptions,
  type EvaluationResult,
  type LabelMatcher,
  type Series,
} from './types';

/** Evaluates every enabled rule at `now` (milliseconds since the epoch) and advances the alerts of the previous round. */
export function evaluate(
  rules: readonly AlertRule[],
  series: readonly Series[],
  previousAlerts: readonly AlertState[],
  now: number,
  options: Partial<EvaluationOptions> = {},
): EvaluationResult {
  const round = startRound(now, previousAlerts, options.resolvedRetentionMs ?? DEFAULT_EVALUATION_OPTIONS.resolvedRetentionMs);
  const evaluated = new Set<string>();
  const carried = new Set<string>();
  const valid: CompiledRule[] = [];
  for (const rule of rules) {
    if (!rule.enabled || evaluated.has(rule.id)) continue;
    evaluated.add(rule.id);
    const problems = checkRule(rule);
    if (problems.length > 0) {
      round.result.invalidRules.push({ ruleId: rule.id, problems });
      carried.add(rule.id);
      continue;
    }
    valid.push(compileRule(rule));
  }
  const metrics = indexSeries(series, valid, now);
  for (const rule of valid) evaluateRule(rule, metrics, round);
  // The alerts no rule found meeting its condition this round.
  for (const alert of previousAlerts) {
    if (!see(round, alert.fingerprint)) continue;
    if (carried.has(alert.ruleId)) round.result.alerts.push(alert);
    else notMet(round, alert);
  }
  return round.result;
}

// ---------------------------------------------------------------------------------------------------------------
// Rules

/** A valid rule with its condition, summary and fingerprints prepared once for the round. */
interface CompiledRule {
  rule: AlertRule;
  /** What the round's selections and groupings are kept by: rules with equal matchers, or `by` lists, share them. */
  matchersKey: string;
  byKey: string;
  /** The condition `value <comparison> threshold` as which of greater than, equal to and less than meet it. */
  threshold: number;
  above: boolean;
  equal: boolean;
  below: boolean;
  absentFires: boolean;
  summary: CompiledSummary;
  /** What the fingerprints of the rule's alerts start from. */
  fingerprintSeed: FingerprintSeed;
  runbookUrl: string | null;
}

function compileRule(rule: AlertRule): CompiledRule {
  const { comparison, threshold } = rule;
  const parsed = parseSummary(rule.summary);
  return {
    rule,
    matchersKey: JSON.stringify(rule.matchers),
    byKey: JSON.stringify(rule.by ?? null),
    threshold,
    above: comparison === 'GT' || comparison === 'GTE' || comparison === 'NE',
    equal: comparison === 'GTE' || comparison === 'LTE' || comparison === 'EQ',
    below: comparison === 'LT' || comparison === 'LTE' || comparison === 'NE',
    absentFires: rule.absentFires === true,
    summary: compileSummary('parts' in parsed ? parsed.parts : [{ text: rule.summary }], threshold),
    fingerprintSeed: ruleFingerprintSeed(rule.id),
    runbookUrl: rule.runbookUrl ?? null,
  };
}

/** Whether a value meets the rule's condition; NaN (no data) meets it only for `absentFires`. */
function meets(rule: CompiledRule, value: number): boolean {
  if (Number.isNaN(value)) return rule.absentFires;
  return value > rule.threshold ? rule.above : value < rule.threshold ? rule.below : rule.equal;
}

// ---------------------------------------------------------------------------------------------------------------
// Series

/**
 * The series of one metric, with what rules compute of them kept for the round: many rules share an aggregation and
 * window, or a selection (matchers) and grouping, and each is computed once whatever the number of rules asking.
 */
interface MetricSeries {
  series: Series[];
  now: number;
  /** The windows the rules on this metric read, all of which one pass over the samples reduces. */
  windowsMs: number[];
  windows: Map<number, WindowStats>;
  /** By aggregation and window: each series' value, NaN when it has none. */
  reduced: Map<string, Float64Array>;
  /** By matchers: the positions of the series they select, in order. */
  selections: Map<string, Int32Array>;
  /** By `by` list: each series' group. */
  groupings: Map<string, Grouping>;
  /** By matchers and `by` list: the selected series in their groups. */
  groupedSelections: Map<string, GroupedSelection>;
  /** By matcher: whether each series (by position) passes it. */
  passes: Map<string, Uint8Array>;
  /** By label name: the series (by position) holding each of its values, a missing label read as the empty string. */
  postings: Map<string, Map<string, number[]>>;
  /** Each series' labels in canonical form, made when an alert first needs them. */
  canonicals: (string | undefined)[];
  /** By group number, while a selection is split into groups: its number in the selection, -1 when not yet met. */
  scratch: Int32Array | null;
}

/** Each metric the rules read with its series, in the order passed. */
function indexSeries(series: readonly Series[], rules: readonly CompiledRule[], now: number): Map<string, MetricSeries> {
  const byName = new Map<string, Series[]>();
  for (const one of series) {
    const ofMetric = byName.get(one.name);
    if (ofMetric) ofMetric.push(one);
    else byName.set(one.name, [one]);
  }
  const windows = new Map<string, number[]>();
  for (const { rule } of rules) {
    const ofMetric = windows.get(rule.metric) ?? [];
    if (!ofMetric.includes(rule.windowMs)) ofMetric.push(rule.windowMs);
    windows.set(rule.metric, ofMetric);
  }
  const metrics = new Map<string, MetricSeries>();
  for (const [name, ofMetric] of byName) {
    metrics.set(name, {
      series: ofMetric,
      now,
      windowsMs: windows.get(name) ?? [],
      windows: new Map(),
      reduced: new Map(),
      selections: new Map(),
      groupings: new Map(),
      groupedSelections: new Map(),
      passes: new Map(),
      postings: new Map(),
      // Filled with undefined rather than holes: the array then takes strings without changing its kind.
      canonicals: new Array<undefined>(ofMetric.length).fill(undefined),
      scratch: null,
    });
  }
  return metrics;
}

/** Each series' value over the window ending at `now`; NaN when it has none. */
function valuesOf(metric: MetricSeries, aggregation: Aggregation, windowMs: number): Float64Array {
  const key = `${aggregation}:${windowMs}`;
  let values = metric.reduced.get(key);
  if (!values) {
    if (!metric.windows.has(windowMs)) {
      const windowsMs = metric.windowsMs.includes(windowMs) ? metric.windowsMs : [windowMs];
      const stats = windowStats(metric.series, windowsMs, metric.now);
      for (const [w, windowMs] of windowsMs.entries()) metric.windows.set(windowMs, stats[w]!);
    }
    values = aggregate(metric.windows.get(windowMs)!, aggregation);
    metric.reduced.set(key, values);
  }
  return values;
}

function canonicalLabelsOf(metric: MetricSeries, position: number): string {
  return (metric.canonicals[position] ??= canonicalLabels(metric.series[position]!.labels));
}

/** The positions of the series the matchers select, in order; `key` stands for the matchers. */
function select(metric: MetricSeries, matchers: readonly LabelMatcher[], key: string): Int32Array {
  let selected = metric.selections.get(key);
  if (!selected) {
    // An equality matcher on a non-empty value narrows the scan to the series carrying that value, as
    // Prometheus' postings do: a rule on one node reads that node's series, not the metric's.
    const equal = matchers.find((matcher) => matcher.op === '=' && matcher.value !== '');
    const others = matchers.filter((matcher) => matcher !== equal).map((matcher) => passing(metric, matcher));
    const candidates = equal ? (postingsOf(metric, equal.label).get(equal.value) ?? []) : undefined;
    const count = candidates ? candidates.length : metric.series.length;
    const positions: number[] = [];
    next: for (let k = 0; k < count; k++) {
      const i = candidates ? candidates[k]! : k;
      for (const passes of others) if (passes[i] === 0) continue next;
      positions.push(i);
    }
    selected = Int32Array.from(positions);
    metric.selections.set(key, selected);
  }
  return selected;
}

/** Whether each series passes the matcher; each value of its label is tested once, however many series carry it. */
function passing(metric: MetricSeries, matcher: LabelMatcher): Uint8Array {
  const key = JSON.stringify([matcher.label, matcher.op, matcher.value]);
  let passes = metric.passes.get(key);
  if (!passes) {
    passes = new Uint8Array(metric.series.length);
    const test = compileValueMatcher(matcher);
    for (const [value, positions] of postingsOf(metric, matcher.label)) {
      if (test(value)) for (const i of positions) passes[i] = 1;
    }
    metric.passes.set(key, passes);
  }
  return passes;
}

function postingsOf(metric: MetricSeries, label: string): Map<string, number[]> {
  let byValue = metric.postings.get(label);
  if (!byValue) {
    byValue = new Map();
    for (let i = 0; i < metric.series.length; i++) {
      const value = metric.series[i]!.labels[label] ?? '';
      let positions = byValue.get(value);
      if (!positions) byValue.set(value, (positions = []));
      positions.push(i);
    }
    metric.postings.set(label, byValue);
  }
  return byValue;
}

// ---------------------------------------------------------------------------------------------------------------
// Groups

/**
 * The groups of one metric's series for one `by` list: series with the same values of the `by` labels (a missing
 * label read as empty) are one group. By one label, the groups are that label's postings; by several, each series'
 * group is numbered when a rule first selects it, as a rule on one node never needs the others'.
 */
interface Grouping {
  series: readonly Series[];
  by: readonly string[];
  /** By series: its group's number, -1 until numbered. */
  groupOf: Int32Array;
  /** How many groups are numbered. */
  count: number;
  /** By several labels: the numbers of the groups by their labels' values. */
  byValues: Map<string, number>;
  /** By series: the `by` labels it has and their canonical form, for the groups it is the first series of. */
  labels: (Record<string, string> | undefined)[];
  canonicals: (string | undefined)[];
}

/** The groups by the `by` labels; `key` stands for them. */
function groupingOf(metric: MetricSeries, by: readonly string[], key: string): Grouping {
  let grouping = metric.groupings.get(key);
  if (!grouping) {
    const size = metric.series.length;
    grouping = {
      series: metric.series,
      by,
      groupOf: new Int32Array(size).fill(-1),
      count: 0,
      byValues: new Map(),
      labels: new Array<undefined>(size).fill(undefined),
      canonicals: new Array<undefined>(size).fill(undefined),
    };
    if (by.length === 1) {
      for (const positions of postingsOf(metric, by[0]!).values()) {
        for (const i of positions) grouping.groupOf[i] = grouping.count;
        grouping.count++;
      }
    }
    metric.groupings.set(key, grouping);
  }
  return grouping;
}

/** Numbers the group of a series not yet numbered (grouped by several labels). */
function numberGroup(grouping: Grouping, position: number): number {
  const values = grouping.by.map((label) => grouping.series[position]!.labels[label] ?? '').join('\xff');
  const group = grouping.byValues.get(values) ?? grouping.count++;
  grouping.byValues.set(values, group);
  grouping.groupOf[position] = group;
  return group;
}

/**
 * A group's labels: the `by` labels of its first series (by position) in the rule's selection; as in Prometheus, a
 * label it lacks (or has empty) is not among them.
 */
function groupLabels(grouping: Grouping, first: number): Record<string, string> {
  let picked = grouping.labels[first];
  if (!picked) {
    const labels = grouping.series[first]!.labels;
    picked = {};
    for (const name of grouping.by) {
      const value = labels[name];
      if (value !== undefined && value !== '') picked[name] = value;
    }
    grouping.labels[first] = picked;
  }
  return picked;
}

function groupCanonicalLabels(grouping: Grouping, first: number): string {
  return (grouping.canonicals[first] ??= canonicalLabels(groupLabels(grouping, first)));
}

/**
 * The series a rule's matchers select, in groups by its `by` labels in the order each group first appears: group `g`'s
 * series are `members[start[g]]` to `members[start[g + 1] - 1]`. Many rules group the same selection the same way,
 * and rules that also share an aggregation and window share the groups' values.
 */
interface GroupedSelection {
  grouping: Grouping;
  start: Int32Array;
  members: Int32Array;
  /** By aggregation and window: each group's value, NaN when none of its series has one. */
  values: Map<string, Float64Array>;
}

function groupedSelection(metric: MetricSeries, compiled: CompiledRule, by: readonly string[]): GroupedSelection {
  const key = `${compiled.matchersKey}/${compiled.byKey}`;
  let grouped = metric.groupedSelections.get(key);
  if (!grouped) {
    const selected = select(metric, compiled.rule.matchers, compiled.matchersKey);
    const grouping = groupingOf(metric, by, compiled.byKey);
    const ownNumber = (metric.scratch ??= new Int32Array(metric.series.length).fill(-1));
    // The selection's own numbering of its groups, in the order they appear, and their sizes.
    const groupOfSelected = new Int32Array(selected.length);
    const sizes = new Int32Array(selected.length);
    const numbered = new Int32Array(selected.length);
    let groups = 0;
    for (let k = 0; k < selected.length; k++) {
      const i = selected[k]!;
      let group = grouping.groupOf[i]!;
      if (group === -1) group = numberGroup(grouping, i);
      let own = ownNumber[group]!;
      if (own === -1) {
        own = ownNumber[group] = groups;
        numbered[groups++] = group;
      }
      groupOfSelected[k] = own;
      sizes[own] = sizes[own]! + 1;
    }
    for (let g = 0; g < groups; g++) ownNumber[numbered[g]!] = -1;
    const start = new Int32Array(groups + 1);
    for (let g = 0; g < groups; g++) start[g + 1] = start[g]! + sizes[g]!;
    const members = new Int32Array(selected.length);
    const next = start.slice(0, groups);
    for (let k = 0; k < selected.length; k++) members[next[groupOfSelected[k]!]!++] = selected[k]!;
    grouped = { grouping, start, members, values: new Map() };
    metric.groupedSelections.set(key, grouped);
  }
  return grouped;
}

/** Each group's value from its series' values (see `Aggregation`): the mean, least, greatest, or sum of them. */
function groupValues(metric: MetricSeries, grouped: GroupedSelection, aggregation: Aggregation, windowMs: number): Float64Array {
  const key = `${aggregation}:${windowMs}`;
  let combined = grouped.values.get(key);
  if (!combined) {
    const values = valuesOf(metric, aggregation, windowMs);
    const { start, members } = grouped;
    combined = new Float64Array(start.length - 1);
    for (let g = 0; g < combined.length; g++) {
      let count = 0;
      let total = 0;
      let least = Infinity;
      let greatest = -Infinity;
      for (let k = start[g]!; k < start[g + 1]!; k++) {
        const value = values[members[k]!]!;
        if (Number.isNaN(value)) continue;
        count++;
        total += value;
        if (value < least) least = value;
        if (value > greatest) greatest = value;
      }
      combined[g] =
        count === 0 ? NaN : aggregation === 'AVG' ? total / count : aggregation === 'MIN' ? least : aggregation === 'MAX' ? greatest : total;
    }
    grouped.values.set(key, combined);
  }
  return combined;
}

// ---------------------------------------------------------------------------------------------------------------
// One rule

/**
 * Only groups that meet the condition are looked at further: an alert whose group does not (or is no longer there)
 * is one the round did not see, and `evaluate` clears it with the others after all the rules.
 */
function evaluateRule(compiled: CompiledRule, metrics: ReadonlyMap<string, MetricSeries>, round: Round): void {
  const { rule } = compiled;
  const metric = metrics.get(rule.metric);
  if (!metric) return;
  if (rule.by === undefined) {
    // One alert per selected series.
    const values = valuesOf(metric, rule.aggregation, rule.windowMs);
    const selected = select(metric, rule.matchers, compiled.matchersKey);
    for (let k = 0; k < selected.length; k++) {
      const i = selected[k]!;
      const value = values[i]!;
      if (meets(compiled, value)) met(round, compiled, metric.series[i]!.labels, canonicalLabelsOf(metric, i), value);
    }
    return;
  }
  // One alert per group of selected series, with the labels of its first series.
  const grouped = groupedSelection(metric, compiled, rule.by);
  const values = groupValues(metric, grouped, rule.aggregation, rule.windowMs);
  const { grouping, start, members } = grouped;
  for (let g = 0; g < values.length; g++) {
    const value = values[g]!;
    if (!meets(compiled, value)) continue;
    const first = members[start[g]!]!;
    met(round, compiled, groupLabels(grouping, first), groupCanonicalLabels(grouping, first), value);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The lifecycle

interface Round {
  now: number;
  resolvedRetentionMs: number;
  result: EvaluationResult;
  /** By fingerprint: the previous round's alert, or null once the fingerprint is handled this round. */
  alerts: Map<string, AlertState | null>;
}

function startRound(now: number, previousAlerts: readonly AlertState[], resolvedRetentionMs: number): Round {
  const alerts = new Map<string, AlertState | null>();
  for (const alert of previousAlerts) alerts.set(alert.fingerprint, alert);
  return { now, resolvedRetentionMs, result: { alerts: [], transitions: [], invalidRules: [] }, alerts };
}

/** Marks the fingerprint handled this round; false when it already was. */
function see(round: Round, fingerprint: string): boolean {
  if (round.alerts.get(fingerprint) === null) return false;
  round.alerts.set(fingerprint, null);
  return true;
}

/**
 * A group meets the rule's condition with this value (NaN: no data, for `absentFires`); `canonical` is its labels in
 * canonical form.
 */
function met(round: Round, compiled: CompiledRule, labels: Readonly<Record<string, string>>, canonical: string, groupValue: number): void {
  const fingerprint = fingerprintFrom(compiled.fingerprintSeed, canonical);
  const previous = round.alerts.get(fingerprint);
  if (previous === null) return;
  round.alerts.set(fingerprint, null);
  const { rule } = compiled;
  const now = round.now;
  // A pending or firing alert goes on; any other (none, resolved) starts over as from inactive.
  const ongoing = previous !== undefined && (previous.state === 'PENDING' || previous.state === 'FIRING');
  const wasFiring = ongoing && previous.state === 'FIRING';
  const activeAt = ongoing ? previous.activeAt : now;
  const firing = wasFiring || now - activeAt >= rule.forMs;
  const value = Number.isNaN(groupValue) ? null : groupValue;
  keep(
    round,
    {
      fingerprint,
      ruleId: rule.id,
      // The rule may have been edited since: its name, severity, summary and runbook apply from this round.
      ruleName: rule.name,
      severity: rule.severity,
      labels,
      state: firing ? 'FIRING' : 'PENDING',
      activeAt,
      firedAt: wasFiring ? previous.firedAt : firing ? now : null,
      resolvedAt: null,
      lastValue: value,
      keepFiringUntil: firing && rule.keepFiringForMs > 0 ? now + rule.keepFiringForMs : null,
      summary: renderSummary(compiled.summary, labels, value),
      runbookUrl: compiled.runbookUrl,
    },
    previous?.state ?? 'INACTIVE',
  );
}

/** The condition does not hold for this alert (or its rule or its series are gone). */
function notMet(round: Round, previous: AlertState): void {
  const now = round.now;
  switch (previous.state) {
    case 'PENDING':
      transition(round, { ...previous, state: 'INACTIVE' }, 'PENDING');
      return;
    case 'FIRING':
      if (previous.keepFiringUntil !== null && now < previous.keepFiringUntil) keep(round, previous, 'FIRING');
      else keep(round, { ...previous, state: 'RESOLVED', resolvedAt: now, keepFiringUntil: null }, 'FIRING');
      return;
    case 'RESOLVED':
      if (now - (previous.resolvedAt ?? now) < round.resolvedRetentionMs) keep(round, previous, 'RESOLVED');
      return;
    case 'INACTIVE':
      return;
  }
}

function keep(round: Round, alert: AlertState, from: AlertStatus): void {
  round.result.alerts.push(alert);
  if (alert.state !== from) transition(round, alert, from);
}

function transition(round: Round, alert: AlertState, from: AlertStatus): void {
  const notify = alert.state === 'FIRING' || (from === 'FIRING' && alert.state === 'RESOLVED');
  round.result.transitions.push({ fingerprint: alert.fingerprint, from, to: alert.state, at: round.now, notify, alert });
}
