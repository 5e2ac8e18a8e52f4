// Tests that need something this machine may lack (a Docker Engine, Chromium) skip without it, saying why;
// CI sets TOUCHLINE_TESTS_REQUIRE (e.g. "docker,chromium") so that there a missing part fails instead.
const required = new Set((process.env.TOUCHLINE_TESTS_REQUIRE ?? '').split(',').map((part) => part.trim()).filter(Boolean));

/** Returns whether to skip for `reason` (null: nothing missing); throws when `part` is required here. */
export function skipUnlessAvailable(part: string, reason: string | null): boolean {
  if (reason === null) return false;
  if (required.has(part)) throw new Error(`${part} is required here (TOUCHLINE_TESTS_REQUIRE) but missing: ${reason}`);
  console.warn(`Skipping tests that need ${part}: ${reason}`);
  return true;
}
