/**
 * Waits for a condition a test cannot await directly (a counter another thread publishes, a cache
 * filled by a watch): re-checks it on every turn of the event loop, and fails naming `what` if it
 * does not hold within `limitMs`.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 10_000,
): Promise<void> {
  const limit = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > limit) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
