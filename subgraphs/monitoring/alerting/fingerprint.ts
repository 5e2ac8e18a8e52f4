// An alert's identity from round to round: a stable hash of its rule id and its labels, whatever their order.
// Not cryptographic (nothing here is secret); 64 bits keep collisions out of reach for any number of alerts we hold.
// Changing the hash or the canonical form changes every alert's identity: existing alerts would resolve and refire.

/**
 * The labels in one canonical form: sorted by name, as the JSON of `[name, value, name, value, ...]`. Equal label sets
 * give equal strings.
 */
export function canonicalLabels(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels);
  // Insertion sort, in the order `sort()` gives: label sets are small, and `sort()` costs more to set up than to run.
  for (let i = 1; i < names.length; i++) {
    const name = names[i]!;
    let j = i - 1;
    for (; j >= 0 && names[j]! > name; j--) names[j + 1] = names[j]!;
    names[j + 1] = name;
  }
  let text = '[';
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const value = labels[name];
    // Text JSON would escape, or a value that is not text, takes the general way.
    if (typeof value !== 'string' || !JSON_PLAIN.test(name) || !JSON_PLAIN.test(value)) return JSON.stringify(names.flatMap((each) => [each, labels[each]]));
    text += `${i === 0 ? '' : ','}"${name}","${value}"`;
  }
  return `${text}]`;
}

/** Text that JSON.stringify only puts between quotes: no quotes, backslashes, control characters or surrogates. */
const JSON_PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

export function alertFingerprint(ruleId: string, labels: Readonly<Record<string, string>>): string {
  return fingerprintOf(ruleId, canonicalLabels(labels));
}

/** The fingerprint from labels already in canonical form. */
export function fingerprintOf(ruleId: string, canonical: string): string {
  return fingerprintFrom(ruleFingerprintSeed(ruleId), canonical);
}

/**
 * The hash of a rule's part of the text, taken once per rule: `fingerprintFrom` then hashes only the labels, with the
 * same result as `fingerprintOf`.
 */
export function ruleFingerprintSeed(ruleId: string): FingerprintSeed {
  const [h1, h2] = absorb(`${JSON.stringify(ruleId)}:`, SEED1, SEED2);
  return { h1, h2 };
}

export interface FingerprintSeed {
  readonly h1: number;
  readonly h2: number;
}

export function fingerprintFrom(seed: FingerprintSeed, canonical: string): string {
  const [h1, h2] = absorb(canonical, seed.h1, seed.h2);
  return digest(h1, h2);
}

// Two 32-bit multiplicative hashes mixed into 64 bits (cyrb53's construction, all 64 bits kept), as 16 hex digits.
const SEED1 = 0xdeadbeef;
const SEED2 = 0x41c6ce57;

function absorb(text: string, h1: number, h2: number): [number, number] {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  return [h1, h2];
}

function digest(h1: number, h2: number): string {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return hex64(h2 >>> 0, h1 >>> 0);
}

/** The two words as 16 hex digits, high first: `toString(16)` and `padStart` cost more than the hash itself. */
function hex64(high: number, low: number): string {
  return String.fromCharCode(
    digit(high >>> 28),
    digit((high >>> 24) & 15),
    digit((high >>> 20) & 15),
    digit((high >>> 16) & 15),
    digit((high >>> 12) & 15),
    digit((high >>> 8) & 15),
    digit((high >>> 4) & 15),
    digit(high & 15),
    digit(low >>> 28),
    digit((low >>> 24) & 15),
    digit((low >>> 20) & 15),
    digit((low >>> 16) & 15),
    digit((low >>> 12) & 15),
    digit((low >>> 8) & 15),
    digit((low >>> 4) & 15),
    digit(low & 15),
  );
}

/** The character code of a hex digit, 0-9 then a-f. */
function digit(nibble: number): number {
  return nibble < 10 ? 48 + nibble : 87 + nibble;
}
