// Inputs of the alert mutations and subscription (the rules' are in alert-rule.inputs.ts).
import { Field, ID, InputType } from 'type-graphql';
import { AlertSeverity, AlertState, type StoredAlertStatus } from './alert.types';
import type { Severity } from '../alerting/types';

@InputType()
export class AcknowledgeAlertInput {
  @Field(() => ID, { description: 'The alert\'s fingerprint.' })
  fingerprint!: string;

  @Field(() => String, { description: 'What is being done about it.' })
  comment!: string;
}

@InputType({ description: 'Which alert changes to receive; every condition given must hold.' })
export class AlertUpdatesFilter {
  @Field(() => [AlertState], { nullable: true, description: 'Changes that leave the alert in one of these states.' })
  states?: StoredAlertStatus[] | null;

  @Field(() => [AlertSeverity], { nullable: true })
  severities?: Severity[] | null;

  @Field(() => [String], { nullable: true, description: 'Alerts of these rules, by name.' })
  ruleNames?: string[] | null;

  @Field(() => [ID], { nullable: true, description: 'These alerts, by fingerprint.' })
  fingerprints?: string[] | null;
}
