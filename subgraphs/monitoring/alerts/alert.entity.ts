// How alerting is stored: the rules (built-in and users'), the current alerts by fingerprint, and the history of
// their changes of state.
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { Field, Float, ID, ObjectType } from 'type-graphql';
import type { Aggregation, Comparison, LabelMatcher, Severity } from '../alerting/types';
import { AlertAggregation, AlertComparison, AlertHistoryKind, AlertSeverity, AlertState, type StoredAlertStatus } from './alert.types';

@ObjectType('AlertLabelMatcher', { description: 'A Prometheus label matcher: `=`, `!=`, `=~` or `!~` (regexes anchored at both ends).' })
export class AlertLabelMatcher implements LabelMatcher {
  @Field(() => String)
  label!: string;

  @Field(() => String)
  op!: LabelMatcher['op'];

  @Field(() => String)
  value!: string;
}

@ObjectType('AlertRule', { description: 'A condition on one metric that raises an alert per group of labels while it holds.' })
@Entity('alert_rule')
export class StoredAlertRule {
  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Field(() => String)
  @Index('alert_rule_name', { unique: true })
  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Field(() => Boolean)
  @Column({ type: 'boolean' })
  enabled!: boolean;

  @Field(() => Boolean, { description: 'One of the rules every installation starts with: it can be changed or disabled, not deleted.' })
  @Column({ type: 'boolean' })
  builtIn!: boolean;

  @Field(() => String, { description: 'The metric it reads, for example `gpu_temperature_celsius`.' })
  @Column({ type: 'varchar', length: 200 })
  metric!: string;

  @Field(() => [AlertLabelMatcher])
  @Column({ type: 'simple-json' })
  matchers!: AlertLabelMatcher[];

  @Field(() => AlertAggregation)
  @Column({ type: 'varchar', length: 10 })
  aggregation!: Aggregation;

  @Field(() => Float, { description: 'Samples of the last `windowMs` milliseconds count.' })
  @Column({ type: 'double precision' })
  windowMs!: number;

  @Field(() => [String], { nullable: true, description: 'Labels to group series by; null: one alert per series.' })
  @Column({ type: 'simple-json', nullable: true })
  by!: string[] | null;

  @Field(() => AlertComparison)
  @Column({ type: 'varchar', length: 3 })
  comparison!: Comparison;

  @Field(() => Float)
  @Column({ type: 'double precision' })
  threshold!: number;

  @Field(() => Float, { description: 'How long (ms) the condition must hold before the alert fires.' })
  @Column({ type: 'double precision' })
  forMs!: number;

  @Field(() => Float, { description: 'How long (ms) a firing alert keeps firing after the condition last held.' })
  @Column({ type: 'double precision' })
  keepFiringForMs!: number;

  @Field(() => AlertSeverity)
  @Column({ type: 'varchar', length: 10 })
  severity!: Severity;

  @Field(() => String)
  @Column({ type: 'text' })
  summary!: string;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 2000, nullable: true })
  runbookUrl!: string | null;

  @Field(() => Boolean, { description: 'Whether a group with no sample in the window meets the condition.' })
  @Column({ type: 'boolean' })
  absentFires!: boolean;

  @Field(() => Date)
  @Column({ type: Date })
  createdAt!: Date;

  @Field(() => Date)
  @Column({ type: Date })
  updatedAt!: Date;
}

@ObjectType('Alert', { description: 'One rule\'s condition for one group of labels.' })
@Entity('alert')
@Index('alert_state', ['state'])
export class StoredAlert {
  @Field(() => ID, { description: 'Stable hash of the rule and the labels.' })
  @PrimaryColumn({ type: 'varchar', length: 64 })
  fingerprint!: string;

  @Field(() => ID)
  @Column({ type: 'varchar', length: 64 })
  ruleId!: string;

  @Field(() => String)
  @Column({ type: 'varchar', length: 200 })
  ruleName!: string;

  @Field(() => AlertSeverity)
  @Column({ type: 'varchar', length: 10 })
  severity!: Severity;

  /** Sorted by key. */
  @Column({ type: 'simple-json' })
  labels!: Record<string, string>;

  @Field(() => AlertState)
  @Column({ type: 'varchar', length: 10 })
  state!: StoredAlertStatus;

  @Field(() => Date, { description: 'When the condition began to hold.' })
  @Column({ type: Date })
  activeAt!: Date;

  @Field(() => Date, { nullable: true })
  @Column({ type: Date, nullable: true })
  firedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  @Column({ type: Date, nullable: true })
  resolvedAt!: Date | null;

  @Field(() => Float, { nullable: true, description: 'The value when the condition last held; null when it held by having no data.' })
  @Column({ type: 'double precision', nullable: true })
  value!: number | null;

  @Column({ type: Date, nullable: true })
  keepFiringUntil!: Date | null;

  @Field(() => String)
  @Column({ type: 'text' })
  summary!: string;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 2000, nullable: true })
  runbookUrl!: string | null;

  @Field(() => Date, { nullable: true, description: 'When someone acknowledged it (`acknowledgeAlert`); cleared when it starts over.' })
  @Column({ type: Date, nullable: true })
  acknowledgedAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'Who acknowledged it: the API key\'s name.' })
  @Column({ type: 'varchar', length: 200, nullable: true })
  acknowledgedBy!: string | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  acknowledgementComment!: string | null;

  /** The state receivers were last told of (FIRING or RESOLVED), and when; null before the first notification. */
  @Column({ type: 'varchar', length: 10, nullable: true })
  notifiedState!: string | null;

  @Field(() => Date, { nullable: true, description: 'When notification channels were last told of it.' })
  @Column({ type: Date, nullable: true })
  notifiedAt!: Date | null;

  /** Which sequence of the alerts stream this alert was last seen at, on subscription events only. */
  @Field(() => String, { nullable: true, description: 'On `alertUpdated` events: the event\'s number, to resume `after`.' })
  sequence?: string;
}

/** What an alert's history records. */
export type AlertEventKind = 'STATE_CHANGED' | 'ACKNOWLEDGED' | 'NOTIFIED' | 'SUPPRESSED';

/**
 * One entry of an alert's history (a change of state, an acknowledgement, a notification sent or held back by a
 * silence), numbered in the `alerts` stream that `alertUpdated` follows. Kept after the alert itself is gone, for
 * `TOUCHLINE_ALERT_HISTORY_DAYS`.
 */
@ObjectType('AlertHistoryEntry', { description: 'One entry of an alert\'s history.' })
@Entity('alert_event')
@Index('alert_event_fingerprint', ['fingerprint', 'at'])
export class AlertEvent {
  @Field(() => ID)
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Field(() => String, { description: 'Its number in the alerts stream (`alertUpdated`\'s `after`).' })
  @Index('alert_event_sequence', { unique: true })
  @Column({ type: 'bigint' })
  sequence!: number;

  @Column({ type: 'varchar', length: 64 })
  fingerprint!: string;

  @Column({ type: 'varchar', length: 64 })
  ruleId!: string;

  @Field(() => AlertHistoryKind)
  @Column({ type: 'varchar', length: 16 })
  kind!: AlertEventKind;

  @Field(() => AlertState, { nullable: true, description: 'STATE_CHANGED: the state before (INACTIVE for a new alert).' })
  @Column({ type: 'varchar', length: 10, nullable: true })
  fromState!: string | null;

  @Field(() => AlertState, { nullable: true, description: 'STATE_CHANGED: the state after.' })
  @Column({ type: 'varchar', length: 10, nullable: true })
  toState!: string | null;

  @Field(() => Date)
  @Index('alert_event_at')
  @Column({ type: Date })
  at!: Date;

  @Field(() => String, { nullable: true, description: 'ACKNOWLEDGED: who (the API key\'s name).' })
  @Column({ type: 'varchar', length: 200, nullable: true })
  actor!: string | null;

  @Field(() => String, { nullable: true, description: 'ACKNOWLEDGED: what they said.' })
  @Column({ type: 'text', nullable: true })
  comment!: string | null;

  /** NOTIFIED: the channels told; SUPPRESSED: the silences that held the notification back. */
  @Column({ type: 'simple-json', nullable: true })
  targets!: string[] | null;

  /** The alert as this entry left it (it may since have changed or gone). */
  @Column({ type: 'simple-json' })
  alert!: AlertSnapshot;
}

/** An alert as a history entry keeps it: its row's fields, dates as ISO strings. */
export interface AlertSnapshot {
  fingerprint: string;
  ruleId: string;
  ruleName: string;
  severity: Severity;
  labels: Record<string, string>;
  state: string;
  activeAt: string;
  firedAt: string | null;
  resolvedAt: string | null;
  value: number | null;
  summary: string;
  runbookUrl: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  acknowledgementComment: string | null;
}
