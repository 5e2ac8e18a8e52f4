// An alert's identity from round to round: a stable hash of its rule id and its labels, whatever their order.
// Not cryptographic (nothing here is secret); 64 bits keep collisions out of reach for any number of alerts we hold.
// Changing the hash or the canonical form changes every alert's identity: existing alerts would resolve and refire.

/** The labels in one canonical form: sorted by name. Equal label sets give equal strings. */
export function canonicalLabels(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels).sort();
  const flat: string[] = [];
  for (const name of names) flat.push(name, labels[name]!);
  return JSON.stringify(flat);
}

export function alertFingerprint(ruleId: string, labels: Readonly<Record<string, string>>): string {
  return fingerprintOf(ruleId, canonicalLabels(labels));
}

/** The fingerprint from labels already in canonical form. */
export function fingerprintOf(ruleId: string, canonical: string): string {
  return hash64(`${JSON.stringify(ruleId)}:${canonical}`);
}

/** Two 32-bit multiplicative hashes mixed into 64 bits (cyrb53's construction, all 64 bits kept), as 16 hex digits. */
function hash64(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}
