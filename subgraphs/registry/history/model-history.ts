// Recording versions registered, stage changes and alias moves in the `models` stream, and working out where a
// rollback goes.
import type { EntityManager } from 'typeorm';
import type { Identity } from '../../../common/auth/identity';
import { newId } from '../../../common/db/ids';
import { appendToStream, type StreamDefinition } from '../../../common/events/stream';
import { ModelStage } from '../version/model-version.entity';
import { ModelEvent, ModelEventKind } from './model-event.entity';

/** The `models` stream: every version registered, stage change and alias move, in commit order. */
export const MODEL_STREAM: StreamDefinition<ModelEvent> = { name: 'models', entity: ModelEvent };

export interface StageChange {
  modelId: string;
  versionId: string;
  from: ModelStage;
  to: ModelStage;
  reason?: string | null;
  rollback?: boolean;
}

export interface AliasMove {
  modelId: string;
  alias: string;
  from: string | null;
  to: string | null;
  reason?: string | null;
  rollback?: boolean;
}

/*
 * The events below are written, numbered, as the transaction's last statements (common/events/stream.ts): a
 * transaction does not read back the events it records.
 */

/** Records a new version, in the stage it starts in. */
export function recordVersionRegistered(em: EntityManager, version: { modelId: string; id: string; stage: ModelStage }, actor: Identity): void {
  record(em, {
    ...common(version.modelId, null, false, actor),
    kind: ModelEventKind.VERSION_REGISTERED,
    versionId: version.id,
    toStage: version.stage,
  });
}

export function recordStageChange(em: EntityManager, change: StageChange, actor: Identity): void {
  record(em, {
    ...common(change.modelId, change.reason, change.rollback, actor),
    kind: ModelEventKind.STAGE_CHANGED,
    versionId: change.versionId,
    fromStage: change.from,
    toStage: change.to,
  });
}

export function recordAliasMove(em: EntityManager, move: AliasMove, actor: Identity): void {
  record(em, {
    ...common(move.modelId, move.reason, move.rollback, actor),
    kind: ModelEventKind.ALIAS_MOVED,
    alias: move.alias,
    versionId: move.to,
    fromVersionId: move.from,
    toVersionId: move.to,
  });
}

function record(em: EntityManager, event: Omit<ModelEvent, 'sequence'>): void {
  appendToStream(em, MODEL_STREAM, [Object.assign(new ModelEvent(), event)]);
}

function common(modelId: string, reason: string | null | undefined, rollback: boolean | undefined, actor: Identity) {
  return {
    id: newId(),
    modelId,
    alias: null,
    versionId: null,
    fromVersionId: null,
    toVersionId: null,
    fromStage: null,
    toStage: null,
    rollback: rollback ?? false,
    reason: reason ?? null,
    actorId: actor.id,
    actor: actor.name,
    createdAt: new Date(),
  };
}

/** One move of a pointer (an alias, or "the version in production") from one version to another. */
export interface PointerMove {
  from: string | null;
  to: string | null;
  rollback: boolean;
}

/**
 * Where a rollback takes a pointer, given all its moves, oldest first. Rollbacks undo moves like a stack, so
 * rolling back twice goes back two versions. `null`: it pointed at nothing before; `undefined`: no history.
 */
export function rollbackTarget(moves: PointerMove[]): string | null | undefined {
  const previous: (string | null)[] = [];
  for (const move of moves) {
    if (move.rollback) previous.pop();
    else previous.push(move.from);
  }
  return previous.at(-1);
}

/**
 * The moves of a model's production pointer, read from its stage changes (oldest first). A version entering
 * PRODUCTION is recorded before the one it replaces leaves, so the pointer goes straight from one to the other.
 */
export function productionMoves(changes: Pick<ModelEvent, 'versionId' | 'fromStage' | 'toStage' | 'rollback'>[]): PointerMove[] {
  const moves: PointerMove[] = [];
  let current: string | null = null;
  for (const change of changes) {
    if (change.toStage === ModelStage.PRODUCTION) {
      moves.push({ from: current, to: change.versionId, rollback: change.rollback });
      current = change.versionId;
    } else if (change.fromStage === ModelStage.PRODUCTION && change.versionId === current) {
      moves.push({ from: current, to: null, rollback: change.rollback });
      current = null;
    }
  }
  return moves;
}
