// The alert evaluation module's inputs and outputs: rules, the metric series they read, and the alerts and
// transitions they produce. Pure data: no database, no GraphQL, no clock. See evaluate.ts for the lifecycle.

/** Prometheus label matchers: equal, not equal, regex match, regex non-match (regexes are anchored at both ends). */
export const MATCH_OPERATORS = ['=', '!=', '=~', '!~'] as const;
export type MatchOperator = (typeof MATCH_OPERATORS)[number];

export const COMPARISONS = ['GT', 'GTE', 'LT', 'LTE', 'EQ', 'NE'] as const;
export type Comparison = (typeof COMPARISONS)[number];

export const SEVERITIES = ['INFO', 'WARNING', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * How a rule reduces its samples to one value: first each series over the window, then the series of a group.
 *
 * | aggregation | one series over the window                          | the series of a group        |
 * |-------------|----------------------------------------------------|------------------------------|
 * | AVG         | mean of its samples                                | mean of the series' means    |
 * | MIN, MAX    | least, greatest sample                             | least, greatest              |
 * | SUM         | sum of its samples                                 | sum                          |
 * | COUNT       | number of samples                                  | sum                          |
 * | LAST        | latest sample                                      | sum (as PromQL's `sum by`)   |
 * | RATE        | per-second increase of a counter, resets allowed   | sum                          |
 *
 * RATE needs two samples in the window and does not extrapolate to its edges (PromQL's `rate` does).
 * For a gauge such as a temperature grouped by node, MAX or AVG say what is meant; LAST would add the GPUs up.
 */
export const AGGREGATIONS = ['AVG', 'MIN', 'MAX', 'SUM', 'COUNT', 'LAST', 'RATE'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

export interface LabelMatcher {
  label: string;
  op: MatchOperator;
  value: string;
}

export interface AlertRule {
  id: string;
  /** For people, and the `alertname` a notification carries: `GpuTemperatureHigh`. */
  name: string;
  enabled: boolean;
  /** The metric it reads, by its Prometheus name: `gpu_temperature_celsius`. */
  metric: string;
  /** All must hold for a series to count. A label a series lacks reads as the empty string, as in Prometheus. */
  matchers: readonly LabelMatcher[];
  aggregation: Aggregation;
  /** Samples at `now - windowMs` < at <= `now` count. */
  windowMs: number;
  /**
   * Labels to group series by (`['node']`: one alert per node, over all its series). Absent: one alert per series,
   * carrying all its labels.
   */
  by?: readonly string[];
  /** The condition: `value <comparison> threshold`. EQ and NE compare exactly. */
  comparison: Comparison;
  threshold: number;
  /** How long the condition must hold before the alert fires; 0 fires at once. */
  forMs: number;
  /** How long a firing alert keeps firing after it last met the condition (a guard against flapping); 0: none. */
  keepFiringForMs: number;
  severity: Severity;
  /** Text of the notification; `{{ $labels.node }}`, `{{ $value }}` and `{{ $threshold }}` are replaced. */
  summary: string;
  runbookUrl?: string;
  /**
   * Whether a group with no value in the window meets the condition (a node whose heartbeat stopped). Absence can
   * only be seen in a series the caller passes: for such rules, pass every series the storage still knows for the
   * metric, even those with no sample in the window. A series not passed at all is unknown and never absent.
   */
  absentFires?: boolean;
}

/** One sample; `at` in milliseconds since the epoch. */
export interface Sample {
  at: number;
  value: number;
}

/** A metric's samples for one set of labels, in ascending time order, as the storage returns them. */
export interface Series {
  name: string;
  labels: Readonly<Record<string, string>>;
  points: readonly Sample[];
}

/** Prometheus' alert states. INACTIVE alerts are not kept: it only appears in transitions. */
export type AlertStatus = 'INACTIVE' | 'PENDING' | 'FIRING' | 'RESOLVED';

/** One alert (one rule, one group of labels) as evaluation leaves it; the state carried from round to round. */
export interface AlertState {
  /** Stable hash of the rule id and the labels: the same alert in every round, whatever the labels' order. */
  fingerprint: string;
  ruleId: string;
  ruleName: string;
  severity: Severity;
  /** The group's labels: its `by` labels, or all the series' labels. */
  labels: Readonly<Record<string, string>>;
  state: AlertStatus;
  /** When the condition began to hold (PENDING since then). */
  activeAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
  /** The group's value when it last met the condition; null when it met it by having no data (`absentFires`). */
  lastValue: number | null;
  /** While FIRING: when it resolves unless the condition holds again (last time met + `keepFiringForMs`). */
  keepFiringUntil: number | null;
  /** The rule's summary with the labels and value filled in. */
  summary: string;
  runbookUrl: string | null;
}

/** A change of state, for the notifier and the alert history. */
export interface Transition {
  fingerprint: string;
  from: AlertStatus;
  to: AlertStatus;
  at: number;
  /** Whether receivers are told: on firing and on resolving; not for PENDING or a pending alert going back to INACTIVE. */
  notify: boolean;
  /** The alert after the change. */
  alert: AlertState;
}

export interface RuleProblem {
  /** The rule's field at fault, as a path: `threshold`, `matchers[1].value`. */
  field: string;
  message: string;
}

export interface EvaluationResult {
  /** PENDING, FIRING, and RESOLVED alerts within their retention: the `previousAlerts` of the next round. */
  alerts: AlertState[];
  transitions: Transition[];
  /** Enabled rules that were not evaluated because they are not valid; their alerts are carried over unchanged. */
  invalidRules: { ruleId: string; problems: RuleProblem[] }[];
}

export interface EvaluationOptions {
  /** How long a RESOLVED alert stays in `alerts` before it is dropped (Prometheus: 15 minutes). */
  resolvedRetentionMs: number;
}

export const DEFAULT_EVALUATION_OPTIONS: EvaluationOptions = { resolvedRetentionMs: 15 * 60_000 };
