// What the notification channel mutations answer, and the lists of channels and deliveries.
import { Field, ID, ObjectType } from 'type-graphql';
import { Connection } from '../../../common/graphql/connection';
import { Payload } from '../../../common/graphql/types';
import { NotificationChannel, NotificationDelivery } from './notification.entity';

@ObjectType()
export class CreateNotificationChannelPayload extends Payload {
  @Field(() => NotificationChannel, { nullable: true })
  notificationChannel: NotificationChannel | null = null;

  @Field(() => String, { nullable: true, description: 'The secret made for it when none was given: shown this once, keep it.' })
  generatedSecret: string | null = null;
}

@ObjectType()
export class UpdateNotificationChannelPayload extends Payload {
  @Field(() => NotificationChannel, { nullable: true })
  notificationChannel: NotificationChannel | null = null;
}

@ObjectType()
export class DeleteNotificationChannelPayload extends Payload {
  @Field(() => ID, { nullable: true })
  deletedId: string | null = null;
}

export const NotificationChannelConnection = Connection(NotificationChannel, 'NotificationChannel');
export type NotificationChannelConnection = InstanceType<typeof NotificationChannelConnection>;

export const NotificationDeliveryConnection = Connection(NotificationDelivery, 'NotificationDelivery');
export type NotificationDeliveryConnection = InstanceType<typeof NotificationDeliveryConnection>;
