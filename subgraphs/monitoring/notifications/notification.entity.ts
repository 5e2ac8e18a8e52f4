// Notification channels (webhooks, routed by severity and labels), and each notification's delivery and attempts.
// A delivery is written in the evaluation round that decides it (an outbox), then sent, retried and recorded apart
// from evaluation, so a slow receiver never holds alerting up and an instance that dies leaves nothing unsent.
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { AlertLabelMatcher } from '../alerts/alert.entity';
import { AlertSeverity } from '../alerts/alert.types';
import type { Severity } from '../alerting/types';

export enum DeliveryStatus {
  PENDING = 'PENDING',
  DELIVERED = 'DELIVERED',
  FAILED = 'FAILED',
}
registerEnumType(DeliveryStatus, {
  name: 'NotificationDeliveryStatus',
  description: 'PENDING: not yet accepted (the next attempt is at `nextAttemptAt`); DELIVERED: a 2xx answer; FAILED: given up.',
});

@ObjectType('NotificationChannel', { description: 'A webhook told of the alerts its routing takes, signed with its secret.' })
@Entity('notification_channel')
export class NotificationChannel {
  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Field(() => String, { description: 'Also the `receiver` of its payloads.' })
  @Index('notification_channel_name', { unique: true })
  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Field(() => String, { description: 'Where notifications are POSTed.' })
  @Column({ type: 'varchar', length: 2000 })
  url!: string;

  /** The HMAC key of the signatures; never shown, never logged. */
  @Column({ type: 'varchar', length: 200 })
  secret!: string;

  @Field(() => [AlertSeverity], { nullable: true, description: 'Alerts of these severities only; null: every severity.' })
  @Column({ type: 'simple-json', nullable: true })
  severities!: Severity[] | null;

  @Field(() => [AlertLabelMatcher], { description: 'Alerts whose labels (with `alertname` and `severity`) match all of these; none: every alert.' })
  @Column({ type: 'simple-json' })
  matchers!: AlertLabelMatcher[];

  @Field(() => Boolean, { description: 'Whether it is told when alerts resolve.' })
  @Column({ type: 'boolean' })
  sendResolved!: boolean;

  @Field(() => Boolean)
  @Column({ type: 'boolean' })
  enabled!: boolean;

  @Field(() => Date)
  @Column({ type: Date })
  createdAt!: Date;

  @Field(() => Date)
  @Column({ type: Date })
  updatedAt!: Date;
}

@ObjectType('NotificationDelivery', { description: 'One notification to one channel: a group of alerts of one rule that fired or resolved together.' })
@Entity('notification_delivery')
@Index('notification_delivery_due', ['status', 'nextAttemptAt'])
@Index('notification_delivery_channel', ['channelId', 'createdAt'])
export class NotificationDelivery {
  @Field(() => ID, { description: 'Also sent as `X-Touchline-Delivery`: the same on every attempt, for receivers to drop repeats.' })
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  channelId!: string;

  @Field(() => DeliveryStatus)
  @Column({ type: 'varchar', length: 10 })
  status!: DeliveryStatus;

  @Field(() => String, { description: '`firing` or `resolved`, as in the payload.' })
  @Column({ type: 'varchar', length: 10 })
  alertStatus!: string;

  @Field(() => [ID], { description: 'The fingerprints of the alerts it tells of.' })
  @Column({ type: 'simple-json' })
  fingerprints!: string[];

  /** The exact body sent (and signed) on every attempt. */
  @Column({ type: 'text' })
  body!: string;

  @Field(() => Int)
  @Column({ type: 'integer' })
  attemptCount!: number;

  @Field(() => Date, { nullable: true })
  @Column({ type: Date, nullable: true })
  nextAttemptAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'Why the last attempt failed.' })
  @Column({ type: 'text', nullable: true })
  lastError!: string | null;

  @Field(() => Date)
  @Column({ type: Date })
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  @Column({ type: Date, nullable: true })
  deliveredAt!: Date | null;
}

@ObjectType('NotificationAttempt', { description: 'One POST of a delivery.' })
@Entity('notification_attempt')
@Index('notification_attempt_delivery', ['deliveryId', 'number'])
export class NotificationAttempt {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  deliveryId!: string;

  @Field(() => Int, { description: '1 for the first attempt.' })
  @Column({ type: 'integer' })
  number!: number;

  @Field(() => Date)
  @Column({ type: Date })
  at!: Date;

  @Field(() => Int, { nullable: true, description: 'The HTTP status answered; null when none came (refused, timed out).' })
  @Column({ type: 'integer', nullable: true })
  statusCode!: number | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Field(() => Float)
  @Column({ type: 'double precision' })
  durationMs!: number;
}
