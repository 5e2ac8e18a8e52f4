// Semantic versions (semver.org 2.0.0): strict parsing, and a sort key whose plain string order is semver
// precedence, so the database can order and paginate versions without knowing semver.

// The regular expression semver.org recommends, unchanged.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export const MAX_VERSION_LENGTH = 128;

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
  build: string[];
}

/** Parses a strict semantic version ("1.2.0", "2.0.0-rc.1+build.5"); no "v" prefix, no missing parts. */
export function parseSemVer(text: string): SemVer | undefined {
  if (text.length > MAX_VERSION_LENGTH) return undefined;
  const match = SEMVER.exec(text);
  if (!match) return undefined;
  const [major, minor, patch] = [match[1], match[2], match[3]].map(Number) as [number, number, number];
  if (![major, minor, patch].every(Number.isSafeInteger)) return undefined;
  const prerelease = match[4] ? match[4].split('.') : [];
  if (prerelease.some((id) => isNumeric(id) && id.length > 16)) return undefined;
  return { major, minor, patch, prerelease, build: match[5] ? match[5].split('.') : [] };
}

const pad = (n: number | string) => String(n).padStart(16, '0');
const isNumeric = (identifier: string) => /^\d+$/.test(identifier);

/**
 * A key that sorts like semver precedence under byte order. Numbers are zero-padded; a release sorts after
 * its prereleases; numeric prerelease identifiers sort before alphanumeric ones; build metadata is ignored.
 * The key is hex-encoded so that any database collation orders it the same way.
 */
export function semverSortKey(version: SemVer): string {
  const core = `${pad(version.major)}${pad(version.minor)}${pad(version.patch)}`;
  const key =
    version.prerelease.length === 0
      ? `${core}\x02`
      : `${core}\x01${version.prerelease.map((id) => (isNumeric(id) ? `0${pad(id)}` : `1${id}`)).join('\x00')}`;
  return Buffer.from(key, 'latin1').toString('hex');
}
