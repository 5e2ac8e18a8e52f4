// Where a rollback goes: the stack of a pointer's moves, and the production pointer read back from stage changes.
import { describe, expect, it } from 'vitest';
import { productionMoves, rollbackTarget, type PointerMove } from '../../subgraphs/registry/history/model-history';
import { ModelStage } from '../../subgraphs/registry/version/model-version.entity';

const move = (from: string | null, to: string | null): PointerMove => ({ from, to, rollback: false });
const rollback = (from: string | null, to: string | null): PointerMove => ({ from, to, rollback: true });

const { NONE, STAGING, PRODUCTION, ARCHIVED } = ModelStage;
const stageChange = (versionId: string, fromStage: ModelStage, toStage: ModelStage, isRollback = false) => ({
  versionId,
  fromStage,
  toStage,
  rollback: isRollback,
});

describe('rollbackTarget', () => {
  it('has nowhere to go for a pointer that never moved', () => {
    expect(rollbackTarget([])).toBeUndefined();
  });

  it('goes back to nothing when the pointer pointed at nothing before its first move', () => {
    expect(rollbackTarget([move(null, 'v1')])).toBeNull();
  });

  it('goes back to the version the last move replaced', () => {
    expect(rollbackTarget([move(null, 'v1'), move('v1', 'v2'), move('v2', 'v3')])).toBe('v2');
  });

  it('goes back one more version with each rollback, like a stack', () => {
    const history = [move(null, 'v1'), move('v1', 'v2'), move('v2', 'v3')];

    history.push(rollback('v3', 'v2'));
    expect(rollbackTarget(history)).toBe('v1');

    history.push(rollback('v2', 'v1'));
    expect(rollbackTarget(history)).toBeNull();

    history.push(rollback('v1', null));
    expect(rollbackTarget(history)).toBeUndefined();
  });

  it('after a rollback and a new move, goes back to where the rollback had left it', () => {
    const history = [move(null, 'v1'), move('v1', 'v2'), move('v2', 'v3'), rollback('v3', 'v2'), move('v2', 'v4')];
    expect(rollbackTarget(history)).toBe('v2');

    history.push(rollback('v4', 'v2'));
    expect(rollbackTarget(history)).toBe('v1');
  });

  it('counts a move to nothing (an alias removed) like any other move', () => {
    expect(rollbackTarget([move(null, 'v1'), move('v1', null)])).toBe('v1');
  });
});

describe('productionMoves', () => {
  it('records a first promotion as a move from nothing', () => {
    expect(productionMoves([stageChange('v1', NONE, STAGING), stageChange('v1', STAGING, PRODUCTION)])).toEqual([move(null, 'v1')]);
  });

  it('records a promotion that replaces another version as one move, the old version leaving after', () => {
    const changes = [
      stageChange('v1', STAGING, PRODUCTION),
      stageChange('v2', NONE, STAGING),
      stageChange('v2', STAGING, PRODUCTION),
      stageChange('v1', PRODUCTION, ARCHIVED),
    ];
    expect(productionMoves(changes)).toEqual([move(null, 'v1'), move('v1', 'v2')]);
  });

  it('records a plain demotion out of PRODUCTION as a move to nothing', () => {
    const changes = [stageChange('v1', STAGING, PRODUCTION), stageChange('v1', PRODUCTION, STAGING)];
    expect(productionMoves(changes)).toEqual([move(null, 'v1'), move('v1', null)]);
  });

  it('ignores stage changes that neither enter nor leave production', () => {
    const changes = [stageChange('v1', NONE, STAGING), stageChange('v1', STAGING, ARCHIVED), stageChange('v2', ARCHIVED, STAGING)];
    expect(productionMoves(changes)).toEqual([]);
  });

  it('keeps the rollback flag of rollback events', () => {
    const changes = [
      stageChange('v1', STAGING, PRODUCTION),
      stageChange('v2', STAGING, PRODUCTION),
      stageChange('v1', PRODUCTION, ARCHIVED),
      // rollbackModel: v1 comes back first, then v2 leaves.
      stageChange('v1', ARCHIVED, PRODUCTION, true),
      stageChange('v2', PRODUCTION, ARCHIVED, true),
    ];
    expect(productionMoves(changes)).toEqual([move(null, 'v1'), move('v1', 'v2'), rollback('v2', 'v1')]);
  });

  it('feeds rollbackTarget: each rollback of production goes one version further back', () => {
    const changes = [
      stageChange('v1', STAGING, PRODUCTION),
      stageChange('v2', STAGING, PRODUCTION),
      stageChange('v1', PRODUCTION, ARCHIVED),
      stageChange('v3', STAGING, PRODUCTION),
      stageChange('v2', PRODUCTION, ARCHIVED),
    ];
    expect(rollbackTarget(productionMoves(changes))).toBe('v2');

    changes.push(stageChange('v2', ARCHIVED, PRODUCTION, true), stageChange('v3', PRODUCTION, ARCHIVED, true));
    expect(rollbackTarget(productionMoves(changes))).toBe('v1');

    changes.push(stageChange('v1', ARCHIVED, PRODUCTION, true), stageChange('v2', PRODUCTION, ARCHIVED, true));
    expect(rollbackTarget(productionMoves(changes))).toBeNull();
  });

  it('after a demotion, a rollback brings the demoted version back', () => {
    const changes = [stageChange('v1', STAGING, PRODUCTION), stageChange('v2', STAGING, PRODUCTION), stageChange('v1', PRODUCTION, ARCHIVED), stageChange('v2', PRODUCTION, STAGING)];
    expect(rollbackTarget(productionMoves(changes))).toBe('v2');
  });
});
