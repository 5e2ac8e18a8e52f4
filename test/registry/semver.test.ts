// Version strings: strict semver 2.0.0 parsing, and a sort key whose plain string order is semver precedence,
// checked against the `semver` package as the independent oracle.
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { MAX_VERSION_LENGTH, parseSemVer, semverSortKey } from '../../subgraphs/registry/version/semver';

const keys = new Map<string, string>();

/** The sort key of a version the test knows to be valid (remembered, as the random test compares each many times). */
function keyOf(version: string): string {
  let key = keys.get(version);
  if (key === undefined) {
    const parsed = parseSemVer(version);
    if (!parsed) throw new Error(`test bug: ${version} should parse`);
    key = semverSortKey(parsed);
    keys.set(version, key);
  }
  return key;
}

const byKey = (a: string, b: string) => {
  const [left, right] = [keyOf(a), keyOf(b)];
  return left < right ? -1 : left > right ? 1 : 0;
};

/** Sorting by the key and sorting by the semver package agree (both sorts are stable, so ties must agree too). */
function expectSameOrderAsSemver(versions: string[]): void {
  expect([...versions].sort(byKey)).toEqual([...versions].sort(semver.compare));
}

/** mulberry32: a tiny seeded PRNG, so a failing random case can be reproduced. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('parseSemVer', () => {
  it('reads the parts of a full version, prerelease and build included', () => {
    expect(parseSemVer('2.10.3-rc.1.x-y+build.5.sha-9f2')).toEqual({
      major: 2,
      minor: 10,
      patch: 3,
      prerelease: ['rc', '1', 'x-y'],
      build: ['build', '5', 'sha-9f2'],
    });
    expect(parseSemVer('0.0.0')).toEqual({ major: 0, minor: 0, patch: 0, prerelease: [], build: [] });
    expect(parseSemVer('1.0.0+20130313144700')?.build).toEqual(['20130313144700']);
    expect(parseSemVer('1.0.0-0A.is.legal')?.prerelease).toEqual(['0A', 'is', 'legal']);
  });

  it.each([
    ['1.2', 'a missing part'],
    ['v1.2.0', 'a "v" prefix'],
    ['=1.2.0', 'an operator'],
    ['01.2.0', 'a leading zero in the major'],
    ['1.02.0', 'a leading zero in the minor'],
    ['1.2.3-01', 'a leading zero in a numeric prerelease identifier'],
    ['1.2.3.4', 'a fourth part'],
    ['', 'nothing'],
    [' 1.2.3', 'surrounding space'],
    ['1.2.3-', 'an empty prerelease'],
    ['1.2.3-alpha..1', 'an empty prerelease identifier'],
    ['1.2.3+', 'empty build metadata'],
    ['1.2.3-beta_1', 'a character outside [0-9A-Za-z-]'],
    ['9007199254740992.0.0', 'a major beyond the safe integers'],
    ['1.2.3-12345678901234567', 'a numeric prerelease identifier of 17 digits'],
  ])('rejects %j (%s)', (text) => {
    expect(parseSemVer(text)).toBeUndefined();
  });

  it('accepts a numeric prerelease identifier of 16 digits and the largest safe integer as a part', () => {
    expect(parseSemVer('1.2.3-1234567890123456')?.prerelease).toEqual(['1234567890123456']);
    expect(parseSemVer('9007199254740991.0.0')?.major).toBe(Number.MAX_SAFE_INTEGER);
  });

  it(`accepts a version of exactly ${MAX_VERSION_LENGTH} characters and rejects one a character longer`, () => {
    const longest = `1.0.0-${'a'.repeat(MAX_VERSION_LENGTH - 6)}`;
    expect(longest).toHaveLength(MAX_VERSION_LENGTH);
    expect(semver.valid(longest)).toBe(longest);
    expect(parseSemVer(longest)).toBeDefined();
    expect(parseSemVer(`${longest}a`)).toBeUndefined();
    expect(parseSemVer(`1.0.0+${'b'.repeat(1000)}`)).toBeUndefined();
  });
});

describe('semverSortKey', () => {
  it("orders the spec's own example list as semver does", () => {
    const specOrder = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
    ];
    const shuffled = [specOrder[5], specOrder[7], specOrder[0], specOrder[3], specOrder[6], specOrder[1], specOrder[4], specOrder[2]] as string[];
    expect([...shuffled].sort(byKey)).toEqual(specOrder);
    expectSameOrderAsSemver(shuffled);
  });

  it('compares numbers as numbers, not as text', () => {
    expect(keyOf('1.2.0') < keyOf('1.10.0')).toBe(true);
    expect(keyOf('9.0.0') < keyOf('10.0.0')).toBe(true);
    expect(keyOf('1.0.0-rc.9') < keyOf('1.0.0-rc.10')).toBe(true);
    expect(keyOf('999999999999999.0.0') < keyOf('9007199254740991.0.0')).toBe(true);
    expectSameOrderAsSemver(['1.10.0', '1.2.0', '1.0.10', '1.0.9', '10.0.0', '2.0.0']);
  });

  it('puts a shorter prerelease before a longer one it prefixes, whatever character follows', () => {
    // "alpha" < "alpha-x" as identifiers, so 1.0.0-alpha.1 < 1.0.0-alpha-x even though "." > "-" in ASCII.
    expect(keyOf('1.0.0-alpha.1') < keyOf('1.0.0-alpha-x')).toBe(true);
    expect(semver.compare('1.0.0-alpha.1', '1.0.0-alpha-x')).toBe(-1);
    expectSameOrderAsSemver(['1.0.0-alpha-x', '1.0.0-alpha.1', '1.0.0-alpha', '1.0.0-alpha.-', '1.0.0-alpha0', '1.0.0-alpha.0']);
  });

  it('puts numeric prerelease identifiers before alphanumeric ones, and prereleases before the release', () => {
    expectSameOrderAsSemver(['1.0.0', '1.0.0-a', '1.0.0-999', '1.0.0-0', '1.0.0-1a', '1.0.0-A', '1.0.0--', '0.9.9']);
    expect(keyOf('1.0.0-999') < keyOf('1.0.0--')).toBe(true);
    expect(keyOf('1.0.0-zzz') < keyOf('1.0.0')).toBe(true);
  });

  it('ignores build metadata', () => {
    expect(keyOf('1.0.0+build.1')).toBe(keyOf('1.0.0'));
    expect(keyOf('1.0.0-rc.1+sha.abc')).toBe(keyOf('1.0.0-rc.1+sha.def'));
    expect(keyOf('1.0.0+zzz') < keyOf('1.0.1+aaa')).toBe(true);
  });

  it('orders thousands of random versions exactly as the semver package does', () => {
    const random = seededRandom(20240611);
    const pick = <T>(choices: readonly T[]): T => choices[Math.floor(random() * choices.length)] as T;
    const numbers = [0, 1, 2, 9, 10, 11, 99, 100, 1000, 123456789012];
    const words = ['alpha', 'beta', 'rc', 'a', 'b', 'A', 'Z', '-', '--', 'alpha-x', 'x-1', '0a', '1a', 'a1', 'beta2', 'rc-1'];
    const identifier = () => (random() < 0.5 ? String(pick(numbers)) : pick(words));
    const version = () => {
      const core = `${pick(numbers)}.${pick(numbers)}.${pick(numbers)}`;
      const prerelease = random() < 0.75 ? `-${Array.from({ length: 1 + Math.floor(random() * 4) }, identifier).join('.')}` : '';
      const build = random() < 0.2 ? `+${pick(['b', '1', 'sha-f00', 'x.y'])}` : '';
      return `${core}${prerelease}${build}`;
    };
    // A narrow pool for the core, so many versions share a core and the prerelease decides.
    const narrowed = () => version().replace(/^\d+\.\d+\.\d+/, () => `1.${pick([0, 1])}.${pick([0, 10])}`);
    const versions = Array.from({ length: 4000 }, (_, i) => (i % 2 ? version() : narrowed()));

    expect(versions.filter((v) => semver.valid(v) === null || parseSemVer(v) === undefined)).toEqual([]);
    expectSameOrderAsSemver(versions);
    const disagreements: string[] = [];
    for (let i = 0; i + 1 < versions.length; i += 2) {
      const [a, b] = [versions[i] as string, versions[i + 1] as string];
      if (byKey(a, b) !== semver.compare(a, b)) disagreements.push(`${a} vs ${b}`);
    }
    expect(disagreements).toEqual([]);
  });

  it('is made of lowercase hex digits only, so any database collation sorts it the same way', () => {
    for (const version of ['0.0.0', '1.0.0-alpha.1', '1.0.0-ALPHA-x.Zz.007a', '12.34.56-rc.1+Build.7', '1.0.0--']) {
      expect(keyOf(version)).toMatch(/^[0-9a-f]+$/);
    }
  });
});
