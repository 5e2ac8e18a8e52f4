// A silence: label matchers and a time window during which the alerts they match notify no one (Alertmanager's
// silences). The alerts are still evaluated, kept and shown; only their notifications wait.
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { AlertLabelMatcher } from '../alerts/alert.entity';

export enum SilenceState {
  PENDING = 'PENDING',
  ACTIVE = 'ACTIVE',
  EXPIRED = 'EXPIRED',
}
registerEnumType(SilenceState, { name: 'SilenceState', description: 'PENDING: starts later; ACTIVE: silencing now; EXPIRED: ended.' });

@ObjectType('Silence', {
  description: 'Holds back the notifications of every alert its matchers match (labels, plus `alertname` and `severity`) while it is ACTIVE.',
})
@Entity('silence')
@Index('silence_ends_at', ['endsAt'])
export class Silence {
  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Field(() => [AlertLabelMatcher])
  @Column({ type: 'simple-json' })
  matchers!: AlertLabelMatcher[];

  @Field(() => Date)
  @Column({ type: Date })
  startsAt!: Date;

  @Field(() => Date)
  @Column({ type: Date })
  endsAt!: Date;

  @Field(() => String, { description: 'Why: a ticket, a maintenance window.' })
  @Column({ type: 'text' })
  comment!: string;

  @Field(() => String, { description: 'The API key that made it.' })
  @Column({ type: 'varchar', length: 200 })
  createdBy!: string;

  @Field(() => Date)
  @Column({ type: Date })
  createdAt!: Date;
}

export function silenceState(silence: Silence, now = Date.now()): SilenceState {
  if (silence.endsAt.getTime() <= now) return SilenceState.EXPIRED;
  return silence.startsAt.getTime() > now ? SilenceState.PENDING : SilenceState.ACTIVE;
}
