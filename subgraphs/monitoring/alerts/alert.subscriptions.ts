// Subscriptions to alerts: each change of an alert's state and each acknowledgement, as it commits, for dashboards
// and on-call tools. Each event is the alert as that change left it (a PENDING alert that clears shows as INACTIVE),
// with its number in the alerts stream; a client that reconnects passes the last number it saw as `after`.
import { Arg, Resolver, Root, Subscription } from 'type-graphql';
import type { BoundedQueue } from '../../../common/events/bounded-queue';
import { parseAfter, StreamTail } from '../../../common/events/stream-tail';
import type { Database } from '../../../common/db/database';
import { BadInputError } from '../../../common/graphql/errors';
import type { Logger } from '../../../common/logger';
import type { MonitoringContext } from '../context';
import { ALERT_STREAM, alertAsOf } from './alert-history';
import { StoredAlert, type AlertEvent, type AlertEventKind } from './alert.entity';
import { AlertUpdatesFilter } from './alert.inputs';

const MAX_LISTED = 100;

/** An alert's history entry as subscribers get it: the alert as the entry left it, with the entry's number and kind. */
export type AlertUpdate = StoredAlert & { sequence: string; historyKind: AlertEventKind };

/** What `alertUpdated` tells of: changes of state and acknowledgements, not notifications (they are history only). */
const CHANGES: ReadonlySet<AlertEventKind> = new Set(['STATE_CHANGED', 'ACKNOWLEDGED']);

/** The alerts stream for the subscribers of this monitoring instance (notifications are history, not changes). */
export function alertUpdatesTail(db: Database, logger: Logger, replayWindow: number): StreamTail<AlertEvent, AlertUpdate> {
  return new StreamTail<AlertEvent, AlertUpdate>({
    db,
    stream: ALERT_STREAM,
    logger,
    replayWindow,
    load: async (events) => events.map((event) => Object.assign(alertAsOf(event), { sequence: String(event.sequence), historyKind: event.kind })),
    sequenceOf: (update) => Number(update.sequence),
  });
}

@Resolver()
export class AlertSubscriptionResolver {
  @Subscription(() => StoredAlert, {
    description:
      'Each change of an alert\'s state (PENDING, FIRING, RESOLVED, or INACTIVE when a pending one clears) and each ' +
      'acknowledgement, as it happens: the alert as that change left it. Give `after` (the `sequence` of the last event ' +
      'received) to first receive what was missed since, then live changes.',
    subscribe: ({ args, context }) => subscribeToAlerts(context as MonitoringContext, args as AlertUpdatedArgs),
  })
  alertUpdated(
    @Root() alert: AlertUpdate,
    @Arg('filter', () => AlertUpdatesFilter, { nullable: true }) _filter: AlertUpdatesFilter | null,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this sequence.' }) _after: string | null,
  ): StoredAlert {
    return alert;
  }
}

interface AlertUpdatedArgs {
  filter?: AlertUpdatesFilter | null;
  after?: string | null;
}

function subscribeToAlerts(ctx: MonitoringContext, args: AlertUpdatedArgs): Promise<BoundedQueue<AlertUpdate>> {
  const filter = args.filter ?? {};
  const setOf = <T>(field: string, values: readonly T[] | null | undefined): Set<T> | undefined => {
    if (values && values.length > MAX_LISTED) throw new BadInputError(`filter.${field}`, `at most ${MAX_LISTED} values`);
    return values?.length ? new Set(values) : undefined;
  };
  const states = setOf('states', filter.states);
  const severities = setOf('severities', filter.severities);
  const ruleNames = setOf('ruleNames', filter.ruleNames);
  const fingerprints = setOf('fingerprints', filter.fingerprints);
  return ctx.alertUpdates.subscribe({
    after: parseAfter(args.after),
    accept: (update) =>
      CHANGES.has(update.historyKind) &&
      (!states || states.has(update.state)) &&
      (!severities || severities.has(update.severity)) &&
      (!ruleNames || ruleNames.has(update.ruleName)) &&
      (!fingerprints || fingerprints.has(update.fingerprint)),
    limit: ctx.subscriptionSettings.subscriberBuffer,
  });
}
