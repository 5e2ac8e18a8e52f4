// Row ids: RFC 9562 UUIDv7, so ordering by id is ordering by creation.
import { describe, expect, it } from 'vitest';
import { isId, newId } from '../../common/db/ids';

/** RFC 9562's layout for version 7: 48-bit time, version nibble 7, variant bits 10. */
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The Unix time in milliseconds held in an id's first 48 bits. */
const millisOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('newId', () => {
  it('makes a UUIDv7 holding the time it was made', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();

    expect(id).toMatch(UUID_V7);
    // Ids made earlier in the same millisecond can push the time ahead by a little; never behind.
    expect(millisOf(id)).toBeGreaterThanOrEqual(before);
    expect(millisOf(id)).toBeLessThanOrEqual(after + 5);
  });

  it('makes 10,000 ids in a tight loop that are unique, valid and strictly increasing', () => {
    const start = Date.now();
    const ids = Array.from({ length: 10_000 }, () => newId());
    const end = Date.now();

    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => !UUID_V7.test(id))).toEqual([]);
    const outOfOrder = ids.findIndex((id, i) => i > 0 && !((ids[i - 1] as string) < id));
    expect(outOfOrder).toBe(-1);
    expect(ids.filter((id) => millisOf(id) < start || millisOf(id) > end + 5)).toEqual([]);
  });
});

describe('isId', () => {
  it('accepts ids made by newId', () => {
    expect(isId(newId())).toBe(true);
  });

  it.each([
    ['', 'nothing'],
    ['not-an-id', 'a word'],
    ['0190a5b2c3d47e8f9a0b1c2d3e4f5a6b', 'no hyphens'],
    ['0190A5B2-C3D4-7E8F-9A0B-1C2D3E4F5A6B', 'upper case'],
    ['{0190a5b2-c3d4-7e8f-9a0b-1c2d3e4f5a6b}', 'braces'],
    [' 0190a5b2-c3d4-7e8f-9a0b-1c2d3e4f5a6b', 'a leading space'],
    ['0190a5b2-c3d4-7e8f-9a0b-1c2d3e4f5a6', 'a digit short'],
    ['0190a5b2-c3d4-7e8f-9a0b-1c2d3e4f5a6b0', 'a digit long'],
    ['0190a5b2-c3d4-7e8f-9a0b-1c2d3e4f5g6b', 'a letter past f'],
    ["0190a5b2-c3d4-7e8f-9a0b-1c2d3e4f5a6b' OR '1'='1", 'something appended'],
  ])('rejects %j (%s)', (value) => {
    expect(isId(value)).toBe(false);
  });
});
