// Validation of an alert rule, field by field, with messages a user can act on. The API calls it before storing a
// rule; evaluation calls it again and skips a rule it rejects, so that one bad rule never stops the others.
import { regexProblem } from './matchers';
import { parseSummary } from './summary-template';
import { AGGREGATIONS, COMPARISONS, MATCH_OPERATORS, SEVERITIES, type AlertRule, type RuleProblem } from './types';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface CheckRuleOptions {
  /** The metrics the storage knows; when given, a rule on any other metric is rejected (likely a typo). */
  knownMetrics?: ReadonlySet<string>;
}

/** Every problem with the rule; none means it can be evaluated. Accepts anything shaped like a rule, as JSON may be. */
export function checkRule(rule: AlertRule, options: CheckRuleOptions = {}): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const problem = (field: string, message: string) => problems.push({ field, message });

  if (typeof rule.id !== 'string' || rule.id.trim() === '') problem('id', 'the rule needs an id');
  if (typeof rule.name !== 'string' || rule.name.trim() === '') problem('name', 'the rule needs a name');

  if (typeof rule.metric !== 'string' || rule.metric === '') problem('metric', 'the metric name is empty');
  else if (!METRIC_NAME.test(rule.metric)) problem('metric', `"${rule.metric}" is not a metric name: letters, digits, _ and :, not starting with a digit`);
  else if (options.knownMetrics && !options.knownMetrics.has(rule.metric)) problem('metric', `unknown metric "${rule.metric}": no samples of it were ever stored`);

  if (!Array.isArray(rule.matchers)) problem('matchers', 'matchers must be a list (empty for none)');
  else {
    rule.matchers.forEach((matcher, index) => {
      const field = `matchers[${index}]`;
      if (typeof matcher?.label !== 'string' || !LABEL_NAME.test(matcher.label)) {
        problem(`${field}.label`, `"${String(matcher?.label)}" is not a label name: letters, digits and _, not starting with a digit`);
      }
      if (!oneOf(MATCH_OPERATORS, matcher?.op)) problem(`${field}.op`, `unknown operator ${quote(matcher?.op)}: expected one of ${MATCH_OPERATORS.join(', ')}`);
      if (typeof matcher?.value !== 'string') problem(`${field}.value`, 'the value must be a string');
      else if (matcher.op === '=~' || matcher.op === '!~') {
        const why = regexProblem(matcher.value);
        if (why !== undefined) problem(`${field}.value`, `bad regular expression "${matcher.value}": ${why}`);
      }
    });
  }

  if (!oneOf(AGGREGATIONS, rule.aggregation)) problem('aggregation', `unknown aggregation ${quote(rule.aggregation)}: expected one of ${AGGREGATIONS.join(', ')}`);
  if (!isFiniteNumber(rule.windowMs) || rule.windowMs <= 0) problem('windowMs', `the window must be a positive number of milliseconds, not ${String(rule.windowMs)}`);

  if (rule.by !== undefined) {
    if (!Array.isArray(rule.by)) problem('by', 'by must be a list of label names');
    else {
      const seen = new Set<string>();
      rule.by.forEach((label, index) => {
        if (typeof label !== 'string' || !LABEL_NAME.test(label)) problem(`by[${index}]`, `"${String(label)}" is not a label name`);
        else if (seen.has(label)) problem(`by[${index}]`, `label "${label}" is listed twice`);
        seen.add(label);
      });
    }
  }

  if (!oneOf(COMPARISONS, rule.comparison)) problem('comparison', `unknown comparison ${quote(rule.comparison)}: expected one of ${COMPARISONS.join(', ')}`);
  if (!isFiniteNumber(rule.threshold)) problem('threshold', `the threshold must be a finite number, not ${String(rule.threshold)}`);
  duration('forMs', rule.forMs);
  duration('keepFiringForMs', rule.keepFiringForMs);
  if (!oneOf(SEVERITIES, rule.severity)) problem('severity', `unknown severity ${quote(rule.severity)}: expected one of ${SEVERITIES.join(', ')}`);

  if (typeof rule.summary !== 'string') problem('summary', 'the summary must be text');
  else {
    const parsed = parseSummary(rule.summary);
    if ('problem' in parsed) problem('summary', parsed.problem);
  }
  if (rule.runbookUrl !== undefined && !isWebUrl(rule.runbookUrl)) problem('runbookUrl', `"${String(rule.runbookUrl)}" is not an http(s) URL`);
  if (rule.absentFires !== undefined && typeof rule.absentFires !== 'boolean') problem('absentFires', 'absentFires must be true or false');
  return problems;

  function duration(field: string, value: unknown) {
    if (!isFiniteNumber(value)) problem(field, `${field} must be a finite number of milliseconds, not ${String(value)}`);
    else if (value < 0) problem(field, `${field} cannot be negative (${value})`);
  }
}

function oneOf<T extends string>(allowed: readonly T[], value: unknown): value is T {
  return (allowed as readonly unknown[]).includes(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function quote(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : String(value);
}

function isWebUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
