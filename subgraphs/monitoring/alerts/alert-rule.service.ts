// Alert rules: creating, changing and deleting them with every problem reported against its field, listing them,
// and storing the built-in rules once.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { paginate, type ConnectionShape, type PageArgs } from '../../../common/graphql/connection';
import { reject, succeed, UserErrorCode, userError, type Outcome } from '../../../common/graphql/types';
import { InputCheck } from '../../../common/validation';
import { BUILT_IN_RULES } from '../alerting/built-in-rules';
import { checkRule } from '../alerting/check-rule';
import type { AlertRule } from '../alerting/types';
import { StoredAlertRule } from './alert.entity';
import type { CreateAlertRuleInput, DeleteAlertRuleInput, UpdateAlertRuleInput } from './alert-rule.inputs';

const NAME_LENGTH = 200;
const SUMMARY_LENGTH = 2_000;

type RuleFields = Omit<StoredAlertRule, 'id' | 'builtIn' | 'createdAt' | 'updatedAt'>;

export async function createAlertRule(em: EntityManager, input: CreateAlertRuleInput): Promise<Outcome<{ alertRule: StoredAlertRule }>> {
  const fields: RuleFields = {
    name: input.name,
    enabled: input.enabled,
    metric: input.metric,
    matchers: (input.matchers ?? []).map(({ label, op, value }) => ({ label, op: op as AlertRule['matchers'][number]['op'], value })),
    aggregation: input.aggregation as RuleFields['aggregation'],
    windowMs: input.windowMs,
    by: input.by ?? null,
    comparison: input.comparison as RuleFields['comparison'],
    threshold: input.threshold,
    forMs: input.forMs,
    keepFiringForMs: input.keepFiringForMs,
    severity: input.severity as RuleFields['severity'],
    summary: input.summary,
    runbookUrl: input.runbookUrl || null,
    absentFires: input.absentFires,
  };
  const id = randomUUID();
  const problems = await ruleProblems(em, id, fields);
  if (problems.length > 0) return reject(...problems);
  const now = new Date();
  const alertRule = em.create(StoredAlertRule, { ...fields, id, builtIn: false, createdAt: now, updatedAt: now });
  await em.insert(StoredAlertRule, alertRule);
  return succeed({ alertRule });
}

export async function updateAlertRule(em: EntityManager, input: UpdateAlertRuleInput): Promise<Outcome<{ alertRule: StoredAlertRule }>> {
  const stored = await em.findOneBy(StoredAlertRule, { id: input.id });
  if (!stored) return reject(userError('id', `no alert rule ${input.id}`, UserErrorCode.NOT_FOUND));
  const { id, ...changes } = input;
  const fields: RuleFields = { ...stored };
  for (const [key, value] of Object.entries(changes) as [keyof typeof changes, unknown][]) {
    if (value === null || value === undefined) continue;
    if (key === 'runbookUrl') fields.runbookUrl = value === '' ? null : (value as string);
    else Object.assign(fields, { [key]: value });
  }
  const problems = await ruleProblems(em, id, fields);
  if (problems.length > 0) return reject(...problems);
  Object.assign(stored, fields, { updatedAt: new Date() });
  await em.save(StoredAlertRule, stored);
  return succeed({ alertRule: stored });
}

export async function deleteAlertRule(em: EntityManager, input: DeleteAlertRuleInput): Promise<Outcome<{ deletedId: string }>> {
  const stored = await em.findOneBy(StoredAlertRule, { id: input.id });
  if (!stored) return reject(userError('id', `no alert rule ${input.id}`, UserErrorCode.NOT_FOUND));
  // It would come back at the next start: disabling is what keeps it quiet.
  if (stored.builtIn) return reject(userError('id', `${stored.name} is a built-in rule: disable it (enabled: false) instead`, UserErrorCode.CONFLICT));
  await em.delete(StoredAlertRule, { id: stored.id });
  return succeed({ deletedId: stored.id });
}

export function listAlertRules(em: EntityManager, page: PageArgs): Promise<ConnectionShape<StoredAlertRule>> {
  return paginate(em.createQueryBuilder(StoredAlertRule, 'rule'), page, [{ column: 'rule.name', value: (rule) => rule.name, direction: 'ASC' }]);
}

/** Stores the built-in rules that are missing; safe when several instances start at once (the ids and names are unique). */
export async function storeBuiltInRules(em: EntityManager, now = new Date()): Promise<void> {
  const rows = BUILT_IN_RULES.map((rule) => ({
    ...rule,
    matchers: [...rule.matchers],
    by: rule.by ? [...rule.by] : null,
    runbookUrl: rule.runbookUrl ?? null,
    absentFires: rule.absentFires ?? false,
    builtIn: true,
    createdAt: now,
    updatedAt: now,
  }));
  await em.createQueryBuilder().insert().into(StoredAlertRule).values(rows).orIgnore().execute();
}

/** The rule as the evaluator reads it. */
export function toAlertRule(stored: StoredAlertRule): AlertRule {
  return {
    ...stored,
    by: stored.by ?? undefined,
    runbookUrl: stored.runbookUrl ?? undefined,
  };
}

async function ruleProblems(em: EntityManager, id: string, fields: RuleFields) {
  const check = new InputCheck();
  check.text('name', fields.name, NAME_LENGTH, { required: true });
  check.text('summary', fields.summary, SUMMARY_LENGTH);
  for (const problem of checkRule(toAlertRule({ ...fields, id } as StoredAlertRule))) {
    if (!check.errors.some((error) => error.field?.join('.') === `input.${problem.field}`)) check.fail(problem.field.replace(/\[(\d+)\]/g, '.$1'), problem.message);
  }
  if (check.ok) {
    const sameName = await em.findOneBy(StoredAlertRule, { name: fields.name });
    if (sameName && sameName.id !== id) check.fail('name', `an alert rule named ${fields.name} exists already`, UserErrorCode.ALREADY_EXISTS);
  }
  return check.errors;
}
