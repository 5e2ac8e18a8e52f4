// Silences: creating and expiring them, listing them, and which of them hold back an alert's notifications.
import { randomUUID } from 'node:crypto';
import { LessThanOrEqual, MoreThan, type EntityManager } from 'typeorm';
import { dateCursorValue, paginate, type ConnectionShape, type PageArgs } from '../../../common/graphql/connection';
import { reject, succeed, UserErrorCode, userError, type Outcome } from '../../../common/graphql/types';
import { InputCheck } from '../../../common/validation';
import { compileMatchers, regexProblem } from '../alerting/matchers';
import { MATCH_OPERATORS, type LabelMatcher, type MatchOperator } from '../alerting/types';
import type { AlertLabelMatcherInput } from '../alerts/alert-rule.inputs';
import type { CreateSilenceInput, ExpireSilenceInput } from './silence.inputs';
import { Silence, SilenceState, silenceState } from './silence.entity';

const MAX_MATCHERS = 20;
const COMMENT_LENGTH = 2_000;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Alertmanager refuses nothing here; a silence of more than a year is almost surely a mistake. */
const MAX_DURATION_MS = 366 * 86_400_000;

export async function createSilence(em: EntityManager, input: CreateSilenceInput, createdBy: string, now = new Date()): Promise<Outcome<{ silence: Silence }>> {
  const check = new InputCheck();
  const matchers = checkMatchers(check, 'matchers', input.matchers);
  check.text('comment', input.comment, COMMENT_LENGTH, { required: true });
  const startsAt = input.startsAt ?? now;
  let endsAt: Date | undefined;
  if (input.endsAt && input.durationMs !== null && input.durationMs !== undefined) check.fail('durationMs', 'give endsAt or durationMs, not both');
  else if (input.endsAt) endsAt = input.endsAt;
  else if (input.durationMs !== null && input.durationMs !== undefined) {
    if (!Number.isFinite(input.durationMs) || input.durationMs <= 0) check.fail('durationMs', 'must be a number of milliseconds above 0');
    else endsAt = new Date(startsAt.getTime() + input.durationMs);
  } else check.fail('endsAt', 'give endsAt or durationMs', UserErrorCode.REQUIRED);
  if (endsAt) {
    if (endsAt <= startsAt) check.fail('endsAt', 'must be after startsAt');
    else if (endsAt <= now) check.fail('endsAt', 'is in the past: the silence would never apply');
    else if (endsAt.getTime() - startsAt.getTime() > MAX_DURATION_MS) check.fail('endsAt', 'a silence may last at most 366 days');
  }
  if (!check.ok || !endsAt) return reject(...check.errors);
  const silence = em.create(Silence, { id: randomUUID(), matchers, startsAt, endsAt, comment: input.comment, createdBy, createdAt: now });
  await em.insert(Silence, silence);
  return succeed({ silence });
}

/** Ends a silence now: its alerts notify again from the next evaluation. */
export async function expireSilence(em: EntityManager, input: ExpireSilenceInput, now = new Date()): Promise<Outcome<{ silence: Silence }>> {
  const silence = await em.findOneBy(Silence, { id: input.id });
  if (!silence) return reject(userError('id', `no silence ${input.id}`, UserErrorCode.NOT_FOUND));
  if (silenceState(silence, now.getTime()) === SilenceState.EXPIRED) return reject(userError('id', `silence ${input.id} has already expired`, UserErrorCode.CONFLICT));
  silence.endsAt = now;
  if (silence.startsAt > now) silence.startsAt = now;
  await em.save(Silence, silence);
  return succeed({ silence });
}

export function listSilences(em: EntityManager, page: PageArgs, state: SilenceState | null, now = new Date()): Promise<ConnectionShape<Silence>> {
  const query = em.createQueryBuilder(Silence, 'silence');
  if (state === SilenceState.EXPIRED) query.where('silence.endsAt <= :now', { now });
  if (state === SilenceState.ACTIVE) query.where('silence.endsAt > :now AND silence.startsAt <= :now', { now });
  if (state === SilenceState.PENDING) query.where('silence.startsAt > :now', { now });
  return paginate(query, page, [
    { column: 'silence.createdAt', value: (silence) => dateCursorValue(silence.createdAt), direction: 'DESC' },
    { column: 'silence.id', value: (silence) => silence.id, direction: 'ASC' },
  ]);
}

/** The silences active at `now`, each with its matchers compiled, to test many alerts against. */
export async function activeSilences(em: EntityManager, now: Date): Promise<ActiveSilences> {
  const silences = await em.findBy(Silence, { startsAt: LessThanOrEqual(now), endsAt: MoreThan(now) });
  return new ActiveSilences(silences);
}

export class ActiveSilences {
  private readonly compiled: { id: string; matches: ReturnType<typeof compileMatchers> }[];

  constructor(readonly all: readonly Silence[]) {
    this.compiled = all.map((silence) => ({ id: silence.id, matches: compileMatchers(silence.matchers) }));
  }

  /** The ids of the silences matching an alert, by its labels with `alertname` and `severity` added. */
  silencing(alert: { ruleName: string; severity: string; labels: Readonly<Record<string, string>> }): string[] {
    if (this.compiled.length === 0) return [];
    const labels = { ...alert.labels, alertname: alert.ruleName, severity: alert.severity };
    return this.compiled.filter((silence) => silence.matches(labels)).map((silence) => silence.id);
  }
}

/** Checks label matchers given as input (a silence's, a channel's), naming each bad field; returns them as stored. */
export function checkMatchers(check: InputCheck, field: string, input: readonly AlertLabelMatcherInput[] | null | undefined, options = { required: true }): LabelMatcher[] {
  const matchers = input ?? [];
  if (options.required && matchers.length === 0) check.fail(field, 'give at least one matcher', UserErrorCode.REQUIRED);
  if (matchers.length > MAX_MATCHERS) check.fail(field, `at most ${MAX_MATCHERS} matchers`, UserErrorCode.TOO_LARGE);
  matchers.forEach((matcher, index) => {
    const at = `${field}.${index}`;
    if (!LABEL_NAME.test(matcher.label)) check.fail(`${at}.label`, 'must be a label name: letters, digits and _, not starting with a digit');
    if (!(MATCH_OPERATORS as readonly string[]).includes(matcher.op)) check.fail(`${at}.op`, `must be one of ${MATCH_OPERATORS.join(' ')}`);
    else if (matcher.op.endsWith('~')) {
      const problem = regexProblem(matcher.value);
      if (problem) check.fail(`${at}.value`, `not a valid regular expression: ${problem}`);
    }
    if (matcher.value.length > 1_000) check.fail(`${at}.value`, 'at most 1000 characters', UserErrorCode.TOO_LARGE);
  });
  if (options.required && check.ok && matchers.every((matcher) => compileMatchers([{ ...matcher, op: matcher.op as MatchOperator }])({}))) {
    // Alertmanager's rule: a silence must not match every alert (each matcher would match an empty label).
    check.fail(field, 'the matchers would match every alert: at least one must need a label to have a value');
  }
  return matchers.map(({ label, op, value }) => ({ label, op: op as MatchOperator, value }));
}
