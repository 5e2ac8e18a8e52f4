// Inputs of the alert rule mutations. Comparison, aggregation, severity and matcher operators are strings so that an
// unknown one comes back as a user error naming the field, as every other problem with a rule does (check-rule.ts).
import { Field, Float, ID, InputType } from 'type-graphql';
import { AGGREGATIONS, COMPARISONS, MATCH_OPERATORS, SEVERITIES } from '../alerting/types';

@InputType()
export class AlertLabelMatcherInput {
  @Field(() => String)
  label!: string;

  @Field(() => String, { defaultValue: '=', description: `One of ${MATCH_OPERATORS.join(' ')}.` })
  op!: string;

  @Field(() => String)
  value!: string;
}

@InputType()
export class CreateAlertRuleInput {
  @Field(() => String)
  name!: string;

  @Field(() => Boolean, { defaultValue: true })
  enabled!: boolean;

  @Field(() => String, { description: 'The metric it reads, for example `model_brier_score`.' })
  metric!: string;

  @Field(() => [AlertLabelMatcherInput], { nullable: true })
  matchers?: AlertLabelMatcherInput[] | null;

  @Field(() => String, { defaultValue: 'AVG', description: `One of ${AGGREGATIONS.join(', ')}.` })
  aggregation!: string;

  @Field(() => Float, { description: 'Milliseconds of samples the rule reads.' })
  windowMs!: number;

  @Field(() => [String], { nullable: true, description: 'Labels to group series by; left out: one alert per series.' })
  by?: string[] | null;

  @Field(() => String, { description: `One of ${COMPARISONS.join(', ')}.` })
  comparison!: string;

  @Field(() => Float)
  threshold!: number;

  @Field(() => Float, { defaultValue: 0, description: 'Milliseconds the condition must hold before the alert fires.' })
  forMs!: number;

  @Field(() => Float, { defaultValue: 0 })
  keepFiringForMs!: number;

  @Field(() => String, { defaultValue: 'WARNING', description: `One of ${SEVERITIES.join(', ')}.` })
  severity!: string;

  @Field(() => String, { description: 'Text with `{{ $labels.name }}`, `{{ $value }}` and `{{ $threshold }}`.' })
  summary!: string;

  @Field(() => String, { nullable: true })
  runbookUrl?: string | null;

  @Field(() => Boolean, { defaultValue: false })
  absentFires!: boolean;
}

@InputType({ description: 'The rule\'s id and the fields to change; the others stay as they are.' })
export class UpdateAlertRuleInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;

  @Field(() => String, { nullable: true })
  metric?: string | null;

  @Field(() => [AlertLabelMatcherInput], { nullable: true })
  matchers?: AlertLabelMatcherInput[] | null;

  @Field(() => String, { nullable: true })
  aggregation?: string | null;

  @Field(() => Float, { nullable: true })
  windowMs?: number | null;

  @Field(() => [String], { nullable: true })
  by?: string[] | null;

  @Field(() => String, { nullable: true })
  comparison?: string | null;

  @Field(() => Float, { nullable: true })
  threshold?: number | null;

  @Field(() => Float, { nullable: true })
  forMs?: number | null;

  @Field(() => Float, { nullable: true })
  keepFiringForMs?: number | null;

  @Field(() => String, { nullable: true })
  severity?: string | null;

  @Field(() => String, { nullable: true })
  summary?: string | null;

  @Field(() => String, { nullable: true, description: 'An empty string removes it.' })
  runbookUrl?: string | null;

  @Field(() => Boolean, { nullable: true })
  absentFires?: boolean | null;
}

@InputType()
export class DeleteAlertRuleInput {
  @Field(() => ID)
  id!: string;
}
