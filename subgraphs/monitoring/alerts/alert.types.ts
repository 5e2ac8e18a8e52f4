// The GraphQL enums of alert rules and alerts, mirroring the pure evaluator's string unions (alerting/types.ts).
import { registerEnumType } from 'type-graphql';
import { AGGREGATIONS, COMPARISONS, SEVERITIES, type Aggregation, type Comparison, type Severity } from '../alerting/types';

const enumOf = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((value) => [value, value])) as { [K in T]: K };

export const AlertComparison = enumOf<Comparison>(COMPARISONS);
registerEnumType(AlertComparison, { name: 'AlertComparison', description: 'How a rule compares its value with its threshold.' });

export const AlertAggregation = enumOf<Aggregation>(AGGREGATIONS);
registerEnumType(AlertAggregation, { name: 'AlertAggregation', description: 'How a rule reduces the samples in its window to one value.' });

export const AlertSeverity = enumOf<Severity>(SEVERITIES);
registerEnumType(AlertSeverity, { name: 'AlertSeverity' });

/** The states an alert is kept in; INACTIVE ones are not kept, but `alertUpdated` shows a PENDING alert going INACTIVE. */
export type StoredAlertStatus = 'INACTIVE' | 'PENDING' | 'FIRING' | 'RESOLVED';
export const AlertState = enumOf<StoredAlertStatus>(['INACTIVE', 'PENDING', 'FIRING', 'RESOLVED']);
registerEnumType(AlertState, {
  name: 'AlertState',
  description:
    'PENDING: the condition holds, not yet for the rule\'s `for`; FIRING; RESOLVED: it fired and has stopped; INACTIVE: it ' +
    'stopped holding before it fired (such alerts are not kept: only history and `alertUpdated` show it).',
});

export const AlertHistoryKind = enumOf(['STATE_CHANGED', 'ACKNOWLEDGED', 'NOTIFIED', 'SUPPRESSED'] as const);
registerEnumType(AlertHistoryKind, {
  name: 'AlertHistoryKind',
  description:
    'STATE_CHANGED: from `fromState` to `toState`; ACKNOWLEDGED: by `actor` with `comment`; NOTIFIED: `channels` were sent it; ' +
    'SUPPRESSED: a notification held back by `silenceIds`.',
});
