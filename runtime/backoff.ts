/**
 * Exponential backoff with jitter, per key: client-go's ItemExponentialFailureRateLimiter.
 * Randomness is injected so tests are exact.
 */
export interface BackoffOptions {
  /** @default 5000 */
  baseMs?: number;
  /** @default 300000 */
  maxMs?: number;
  /** Fraction of the delay added at random, 0..1. @default 0.1 */
  jitter?: number;
  /** @default Math.random */
  random?: () => number;
}

/** The delay before attempt `failures + 1`, given `failures` consecutive failures so far (>= 1). */
export function backoffDelay(failures: number, options: BackoffOptions = {}): number {
  const { baseMs = 5000, maxMs = 300_000, jitter = 0.1, random = Math.random } = options;
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.min(maxMs, Math.round(exp * (1 + jitter * random())));
}

/** Counts failures per key and turns them into delays; `forget` resets a key. */
export class PerKeyBackoff<K> {
  readonly #failures = new Map<K, number>();
  readonly #options: BackoffOptions;

  constructor(options: BackoffOptions = {}) {
    this.#options = options;
  }

  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  next(key: K): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    return backoffDelay(failures, this.#options);
  }

  forget(key: K): void {
    this.#failures.delete(key);
  }
}
