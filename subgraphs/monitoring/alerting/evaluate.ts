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
import { aggregate, windowStats, type WindowStats } from './aggregation';
import { checkRule } from './check-rule';
import { alertFingerprint } from './fingerprint';
import { compileMatchers } from './matchers';
import { parseSummary, renderSummary, type SummaryPart } from './summary-template';
import {
  DEFAULT_EVALUATION_OPTIONS,
  type Aggregation,
  type AlertRule,
  type AlertState,
  type AlertStatus,
  type Comparison,
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
  const round = new Round(now, previousAlerts, options.resolvedRetentionMs ?? DEFAULT_EVALUATION_OPTIONS.resolvedRetentionMs);
  const index = new SeriesIndex(series);
  const evaluated = new Set<string>();
  const carried = new Set<string>();
  for (const rule of rules) {
    if (!rule.enabled || evaluated.has(rule.id)) continue;
    evaluated.add(rule.id);
    const problems = checkRule(rule);
    if (problems.length > 0) {
      round.result.invalidRules.push({ ruleId: rule.id, problems });
      carried.add(rule.id);
      continue;
    }
    evaluateRule(compileRule(rule), index, round);
  }
  // The alerts no rule found meeting its condition this round.
  for (const alert of previousAlerts) {
    if (round.seen.has(alert.fingerprint)) continue;
    round.seen.add(alert.fingerprint);
    if (carried.has(alert.ruleId)) round.result.alerts.push(alert);
    else round.notMet(alert);
  }
  return round.result;
}

// ---------------------------------------------------------------------------------------------------------------
// Rules and series

/** A valid rule with its condition and summary prepared once for the round. */
interface CompiledRule extends AlertRule {
  /** The condition on a group's value, NaN standing for no data. */
  meets: (value: number) => boolean;
  summaryParts: SummaryPart[];
}

function compileRule(rule: AlertRule): CompiledRule {
  const parsed = parseSummary(rule.summary);
  return {
    ...rule,
    meets: conditionOf(rule.comparison, rule.threshold, rule.absentFires === true),
    summaryParts: 'parts' in parsed ? parsed.parts : [{ text: rule.summary }],
  };
}

/** Series of one metric that share the `by` labels' values, and those labels. */
interface Group {
  labels: Record<string, string>;
  members: number[];
}

/**
 * The series of one metric, with what rules compute of them kept for the round: many rules share an aggregation and
 * window, or a selection (matchers) and grouping, and each is computed once whatever the number of rules asking.
 */
class MetricSeries {
  readonly series: Series[] = [];
  private readonly windows = new Map<number, (WindowStats | null)[]>();
  private readonly reduced = new Map<string, Float64Array>();
  private readonly selections = new Map<string, number[]>();
  private readonly groupings = new Map<string, Group[]>();
  /** Per label name: the series (by position) holding each of its values; built when a rule first selects on it. */
  private readonly postings = new Map<string, Map<string, number[]>>();

  /** Each series' value over the window ending at `now`; NaN when it has none. */
  values(aggregation: Aggregation, windowMs: number, now: number): Float64Array {
    const key = `${aggregation}:${windowMs}`;
    let values = this.reduced.get(key);
    if (!values) {
      let stats = this.windows.get(windowMs);
      if (!stats) this.windows.set(windowMs, (stats = this.series.map((one) => windowStats(one.points, now - windowMs, now))));
      values = new Float64Array(stats.length);
      for (let i = 0; i < stats.length; i++) values[i] = aggregate(stats[i]!, aggregation) ?? NaN;
      this.reduced.set(key, values);
    }
    return values;
  }

  /** The positions of the series the matchers select. */
  select(matchers: readonly LabelMatcher[]): number[] {
    const key = JSON.stringify(matchers);
    let selected = this.selections.get(key);
    if (!selected) {
      const matches = compileMatchers(matchers);
      // An equality matcher on a non-empty value narrows the scan to the series carrying that value, as
      // Prometheus' postings do: a rule on one node reads that node's series, not the metric's.
      const equal = matchers.find((matcher) => matcher.op === '=' && matcher.value !== '');
      const candidates = equal ? (this.postingsOf(equal.label).get(equal.value) ?? []) : undefined;
      selected = [];
      if (candidates) {
        for (const i of candidates) if (matches(this.series[i]!.labels)) selected.push(i);
      } else {
        for (let i = 0; i < this.series.length; i++) if (matches(this.series[i]!.labels)) selected.push(i);
      }
      this.selections.set(key, selected);
    }
    return selected;
  }

  /** The selected series grouped by the values of the `by` labels. */
  group(matchers: readonly LabelMatcher[], by: readonly string[]): Group[] {
    const key = `${JSON.stringify(matchers)}/${JSON.stringify(by)}`;
    let groups = this.groupings.get(key);
    if (!groups) {
      const byKey = new Map<string, Group>();
      for (const i of this.select(matchers)) {
        const labels = this.series[i]!.labels;
        const values = by.map((label) => labels[label] ?? '').join('\xff');
        let group = byKey.get(values);
        if (!group) byKey.set(values, (group = { labels: pick(labels, by), members: [] }));
        group.members.push(i);
      }
      groups = [...byKey.values()];
      this.groupings.set(key, groups);
    }
    return groups;
  }

  private postingsOf(label: string): Map<string, number[]> {
    let byValue = this.postings.get(label);
    if (!byValue) {
      byValue = new Map();
      for (let i = 0; i < this.series.length; i++) {
        const value = this.series[i]!.labels[label];
        if (value === undefined) continue;
        let positions = byValue.get(value);
        if (!positions) byValue.set(value, (positions = []));
        positions.push(i);
      }
      this.postings.set(label, byValue);
    }
    return byValue;
  }
}

class SeriesIndex {
  private readonly byName = new Map<string, MetricSeries>();

  constructor(series: readonly Series[]) {
    for (const one of series) {
      let metric = this.byName.get(one.name);
      if (!metric) this.byName.set(one.name, (metric = new MetricSeries()));
      metric.series.push(one);
    }
  }

  metric(name: string): MetricSeries | undefined {
    return this.byName.get(name);
  }
}

/**
 * Only groups that meet the condition are looked at further: an alert whose group does not (or is no longer there)
 * is one the round did not see, and `evaluate` clears it with the others after all the rules.
 */
function evaluateRule(rule: CompiledRule, index: SeriesIndex, round: Round): void {
  const metric = index.metric(rule.metric);
  if (!metric) return;
  const values = metric.values(rule.aggregation, rule.windowMs, round.now);
  if (rule.by === undefined) {
    for (const i of metric.select(rule.matchers)) {
      const value = values[i]!;
      if (rule.meets(value)) round.met(rule, metric.series[i]!.labels, Number.isNaN(value) ? null : value);
    }
    return;
  }
  for (const group of metric.group(rule.matchers, rule.by)) {
    const value = combine(rule.aggregation, values, group.members);
    if (rule.meets(value)) round.met(rule, group.labels, Number.isNaN(value) ? null : value);
  }
}

/** A group's value from its series' values (see `Aggregation`); NaN when none of them has one. */
function combine(aggregation: Aggregation, values: Float64Array, members: readonly number[]): number {
  let count = 0;
  let total = 0;
  let least = Infinity;
  let greatest = -Infinity;
  for (const i of members) {
    const value = values[i]!;
    if (Number.isNaN(value)) continue;
    count++;
    total += value;
    if (value < least) least = value;
    if (value > greatest) greatest = value;
  }
  if (count === 0) return NaN;
  if (aggregation === 'AVG') return total / count;
  if (aggregation === 'MIN') return least;
  if (aggregation === 'MAX') return greatest;
  return total;
}

/** The `by` labels the series has; as in Prometheus, a label it lacks (or has empty) is not in the group's labels. */
function pick(labels: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = labels[name];
    if (value !== undefined && value !== '') picked[name] = value;
  }
  return picked;
}

/** The rule's condition on a group's value; NaN (no data) meets it only for `absentFires`. */
function conditionOf(comparison: Comparison, threshold: number, absentFires: boolean): (value: number) => boolean {
  // NaN fails every comparison but NE, which is why each checks for it.
  switch (comparison) {
    case 'GT':
      return (value) => (value > threshold ? true : absentFires && Number.isNaN(value));
    case 'GTE':
      return (value) => (value >= threshold ? true : absentFires && Number.isNaN(value));
    case 'LT':
      return (value) => (value < threshold ? true : absentFires && Number.isNaN(value));
    case 'LTE':
      return (value) => (value <= threshold ? true : absentFires && Number.isNaN(value));
    case 'EQ':
      return (value) => (value === threshold ? true : absentFires && Number.isNaN(value));
    case 'NE':
      return (value) => (Number.isNaN(value) ? absentFires : value !== threshold);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The lifecycle

class Round {
  readonly result: EvaluationResult = { alerts: [], transitions: [], invalidRules: [] };
  /** Fingerprints already handled this round. */
  readonly seen = new Set<string>();
  private readonly previous: Map<string, AlertState>;

  constructor(
    readonly now: number,
    previousAlerts: readonly AlertState[],
    private readonly resolvedRetentionMs: number,
  ) {
    this.previous = new Map(previousAlerts.map((alert) => [alert.fingerprint, alert]));
  }

  /** A group meets the rule's condition with this value (null: no data, for `absentFires`). */
  met(rule: CompiledRule, labels: Readonly<Record<string, string>>, value: number | null): void {
    const fingerprint = alertFingerprint(rule.id, labels);
    if (this.seen.has(fingerprint)) return;
    this.seen.add(fingerprint);
    const previous = this.previous.get(fingerprint);
    const now = this.now;
    // A pending or firing alert goes on; any other (none, resolved) starts over as from inactive.
    const ongoing = previous !== undefined && (previous.state === 'PENDING' || previous.state === 'FIRING');
    const wasFiring = ongoing && previous.state === 'FIRING';
    const activeAt = ongoing ? previous.activeAt : now;
    const firing = wasFiring || now - activeAt >= rule.forMs;
    this.keep(
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
        summary: renderSummary(rule.summaryParts, labels, value, rule.threshold),
        runbookUrl: rule.runbookUrl ?? null,
      },
      previous?.state ?? 'INACTIVE',
    );
  }

  /** The condition does not hold for this alert (or its rule or its series are gone). */
  notMet(previous: AlertState): void {
    const now = this.now;
    switch (previous.state) {
      case 'PENDING':
        this.transition({ ...previous, state: 'INACTIVE' }, 'PENDING');
        return;
      case 'FIRING':
        if (previous.keepFiringUntil !== null && now < previous.keepFiringUntil) this.keep(previous, 'FIRING');
        else this.keep({ ...previous, state: 'RESOLVED', resolvedAt: now, keepFiringUntil: null }, 'FIRING');
        return;
      case 'RESOLVED':
        if (now - (previous.resolvedAt ?? now) < this.resolvedRetentionMs) this.keep(previous, 'RESOLVED');
        return;
      case 'INACTIVE':
        return;
    }
  }

  private keep(alert: AlertState, from: AlertStatus): void {
    this.result.alerts.push(alert);
    if (alert.state !== from) this.transition(alert, from);
  }

  private transition(alert: AlertState, from: AlertStatus): void {
    const notify = alert.state === 'FIRING' || (from === 'FIRING' && alert.state === 'RESOLVED');
    this.result.transitions.push({ fingerprint: alert.fingerprint, from, to: alert.state, at: this.now, notify, alert });
  }
}
