// Inputs of the silence mutations. Matcher operators are strings, as in alert rules, so that an unknown one is a user
// error naming the field.
import { Field, Float, ID, InputType } from 'type-graphql';
import { AlertLabelMatcherInput } from '../alerts/alert-rule.inputs';

@InputType()
export class CreateSilenceInput {
  @Field(() => [AlertLabelMatcherInput], {
    description: 'At least one; alerts match on their labels plus `alertname` (the rule\'s name) and `severity`.',
  })
  matchers!: AlertLabelMatcherInput[];

  @Field(() => Date, { nullable: true, description: 'Now when left out.' })
  startsAt?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Give `endsAt` or `durationMs`.' })
  endsAt?: Date | null;

  @Field(() => Float, { nullable: true, description: 'Milliseconds from `startsAt`.' })
  durationMs?: number | null;

  @Field(() => String)
  comment!: string;
}

@InputType()
export class ExpireSilenceInput {
  @Field(() => ID)
  id!: string;
}
