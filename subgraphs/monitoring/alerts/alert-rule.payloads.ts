// What the alert rule mutations answer, and the list of rules.
import { Field, ID, ObjectType } from 'type-graphql';
import { Connection } from '../../../common/graphql/connection';
import { Payload } from '../../../common/graphql/types';
import { StoredAlertRule } from './alert.entity';

@ObjectType()
export class CreateAlertRulePayload extends Payload {
  @Field(() => StoredAlertRule, { nullable: true })
  alertRule: StoredAlertRule | null = null;
}

@ObjectType()
export class UpdateAlertRulePayload extends Payload {
  @Field(() => StoredAlertRule, { nullable: true })
  alertRule: StoredAlertRule | null = null;
}

@ObjectType()
export class DeleteAlertRulePayload extends Payload {
  @Field(() => ID, { nullable: true })
  deletedId: string | null = null;
}

export const AlertRuleConnection = Connection(StoredAlertRule, 'AlertRule');
export type AlertRuleConnection = InstanceType<typeof AlertRuleConnection>;
