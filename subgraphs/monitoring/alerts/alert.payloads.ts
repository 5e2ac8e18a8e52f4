// What the alert mutations answer, and the list of an alert's history.
import { Field, ObjectType } from 'type-graphql';
import { Connection } from '../../../common/graphql/connection';
import { Payload } from '../../../common/graphql/types';
import { AlertEvent, StoredAlert } from './alert.entity';

@ObjectType()
export class AcknowledgeAlertPayload extends Payload {
  @Field(() => StoredAlert, { nullable: true })
  alert: StoredAlert | null = null;
}

export const AlertHistoryConnection = Connection(AlertEvent, 'AlertHistory');
export type AlertHistoryConnection = InstanceType<typeof AlertHistoryConnection>;
