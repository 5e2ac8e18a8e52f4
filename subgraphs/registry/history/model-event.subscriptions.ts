// Subscriptions to the registry's models stream: versions registered, alias moves and stage changes as they commit,
// for dashboards and for deployers that follow an alias. Each event carries its number in the stream; a client that
// reconnects passes the last number it saw as `after` and misses nothing.
import { Arg, Resolver, Root, Subscription } from 'type-graphql';
import { In, type EntityManager } from 'typeorm';
import type { BoundedQueue } from '../../../common/events/bounded-queue';
import { parseAfter, StreamTail } from '../../../common/events/stream-tail';
import type { Database } from '../../../common/db/database';
import { BadInputError } from '../../../common/graphql/errors';
import type { Logger } from '../../../common/logger';
import type { RegistryContext } from '../context';
import { Model } from '../model/model.entity';
import { ModelVersion } from '../version/model-version.entity';
import { ModelEvent, ModelEventKind } from './model-event.entity';
import { MODEL_STREAM } from './model-history';

/** A version as a modelVersionRegistered event shows it: as registered, with the event's number. */
export type RegisteredVersion = ModelVersion & { sequence: string };

/**
 * A models stream event as subscribers get it: the event with its number as a string (which the subgraph sends
 * beside it as `extensions.sequence`), and for VERSION_REGISTERED the version as it was registered.
 */
export type ModelUpdate = Omit<ModelEvent, 'sequence'> & { sequence: string; registered: RegisteredVersion | null };

/** The models stream for the subscribers of this registry instance. */
export function modelUpdatesTail(db: Database, logger: Logger, replayWindow: number): StreamTail<ModelEvent, ModelUpdate> {
  return new StreamTail<ModelEvent, ModelUpdate>({
    db,
    stream: MODEL_STREAM,
    logger,
    replayWindow,
    load: (events) => loadUpdates(db.manager, events),
    sequenceOf: (update) => Number(update.sequence),
  });
}

async function loadUpdates(em: EntityManager, events: ModelEvent[]): Promise<ModelUpdate[]> {
  const registeredIds = events.filter((event) => event.kind === ModelEventKind.VERSION_REGISTERED && event.versionId).map((event) => event.versionId!);
  const versions = registeredIds.length ? await em.findBy(ModelVersion, { id: In([...new Set(registeredIds)]) }) : [];
  const byId = new Map(versions.map((version) => [version.id, version]));
  return events.map((event) => {
    const sequence = String(event.sequence);
    const version = event.kind === ModelEventKind.VERSION_REGISTERED && event.versionId ? byId.get(event.versionId) : undefined;
    // A version's stage may have moved on since it was registered: the event shows the stage it started in.
    const registered = version ? Object.assign(new ModelVersion(), version, { stage: event.toStage ?? version.stage, sequence }) : null;
    return Object.assign(new ModelEvent(), event, { sequence, registered });
  });
}

@Resolver()
export class ModelEventSubscriptionResolver {
  @Subscription(() => ModelVersion, {
    description:
      'Each version registered, as it commits: the version as registered, with its `sequence`. Give `after` (the ' +
      '`sequence` of the last event received) to first receive what was missed since, then live ones.',
    subscribe: ({ args, context }) =>
      subscribeToModels(context as RegistryContext, args as ModelStreamArgs, (update) => update.kind === ModelEventKind.VERSION_REGISTERED && update.registered !== null),
  })
  modelVersionRegistered(
    @Root() update: ModelUpdate,
    @Arg('model', () => String, { nullable: true, description: 'Versions of this model only, by name.' }) _model: string | null,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this sequence.' }) _after: string | null,
  ): RegisteredVersion {
    return update.registered!;
  }

  @Subscription(() => ModelEvent, {
    description:
      'Each alias set, moved or removed, as it commits (rollbacks included). Give `after` (the `sequence` of the last ' +
      'event received) to first receive what was missed since, then live ones.',
    subscribe: ({ args, context }) => {
      const { alias } = args as ModelStreamArgs;
      return subscribeToModels(context as RegistryContext, args as ModelStreamArgs, (update) => update.kind === ModelEventKind.ALIAS_MOVED && (!alias || update.alias === alias));
    },
  })
  modelAliasMoved(
    @Root() update: ModelUpdate,
    @Arg('model', () => String, { nullable: true, description: 'Aliases of this model only, by name.' }) _model: string | null,
    @Arg('alias', () => String, { nullable: true, description: 'This alias only.' }) _alias: string | null,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this sequence.' }) _after: string | null,
  ): ModelUpdate {
    return update;
  }

  @Subscription(() => ModelEvent, {
    description:
      "Each change of a version's stage, as it commits (a version entering PRODUCTION archives the one it replaces: two " +
      'events). Give `after` (the `sequence` of the last event received) to first receive what was missed since, then live ones.',
    subscribe: ({ args, context }) =>
      subscribeToModels(context as RegistryContext, args as ModelStreamArgs, (update) => update.kind === ModelEventKind.STAGE_CHANGED),
  })
  modelStageChanged(
    @Root() update: ModelUpdate,
    @Arg('model', () => String, { nullable: true, description: 'Versions of this model only, by name.' }) _model: string | null,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this sequence.' }) _after: string | null,
  ): ModelUpdate {
    return update;
  }
}

interface ModelStreamArgs {
  model?: string | null;
  alias?: string | null;
  after?: string | null;
}

/** Subscribes to the models stream for the events `accept` takes, of the model named in `args` if there is one. */
async function subscribeToModels(ctx: RegistryContext, args: ModelStreamArgs, accept: (update: ModelUpdate) => boolean): Promise<BoundedQueue<ModelUpdate>> {
  const after = parseAfter(args.after);
  let modelId: string | undefined;
  if (args.model != null) {
    const model = await ctx.em.findOneBy(Model, { name: args.model });
    if (!model) throw new BadInputError('model', `no model is named "${args.model.slice(0, 100)}"`);
    modelId = model.id;
  }
  return ctx.modelUpdates.subscribe({
    after,
    accept: (update) => (!modelId || update.modelId === modelId) && accept(update),
    limit: ctx.subscriptionSettings.subscriberBuffer,
  });
}
