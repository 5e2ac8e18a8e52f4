// Inputs of the notification channel mutations.
import { Field, ID, InputType } from 'type-graphql';
import { AlertLabelMatcherInput } from '../alerts/alert-rule.inputs';
import { AlertSeverity } from '../alerts/alert.types';
import type { Severity } from '../alerting/types';

@InputType()
export class CreateNotificationChannelInput {
  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'An http:// or https:// address to POST notifications to.' })
  url!: string;

  @Field(() => String, { nullable: true, description: 'The HMAC key (16 to 200 printable characters); left out, one is made and returned once.' })
  secret?: string | null;

  @Field(() => [AlertSeverity], { nullable: true, description: 'Only alerts of these severities; left out: all.' })
  severities?: Severity[] | null;

  @Field(() => [AlertLabelMatcherInput], { nullable: true, description: 'Only alerts matching all of these (labels, `alertname`, `severity`).' })
  matchers?: AlertLabelMatcherInput[] | null;

  @Field(() => Boolean, { defaultValue: true })
  sendResolved!: boolean;

  @Field(() => Boolean, { defaultValue: true })
  enabled!: boolean;
}

@InputType({ description: 'The channel\'s id and the fields to change; the others stay as they are.' })
export class UpdateNotificationChannelInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  url?: string | null;

  @Field(() => String, { nullable: true, description: 'A new HMAC key.' })
  secret?: string | null;

  @Field(() => [AlertSeverity], { nullable: true, description: 'An empty list takes every severity.' })
  severities?: Severity[] | null;

  @Field(() => [AlertLabelMatcherInput], { nullable: true, description: 'An empty list takes every alert.' })
  matchers?: AlertLabelMatcherInput[] | null;

  @Field(() => Boolean, { nullable: true })
  sendResolved?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;
}

@InputType()
export class DeleteNotificationChannelInput {
  @Field(() => ID)
  id!: string;
}
