/**
 * A manual clock for code that takes `now` and `sleep` (or `Timers`) by injection: time moves only
 * when a test calls `advance`, and every timer due on the way fires in order.
 */
import type { Timers } from '../../../runtime/timers.js';

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

export class FakeClock {
  #t: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.#t = start;
  }

  readonly now = (): number => this.#t;

  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer: Timer = { at: this.#t + Math.max(0, ms), seq: this.#seq++, fire: done };
      this.#timers.push(timer);
      const onAbort = () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        done();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      function done() {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }
    });

  /** The same clock as `Timers`, for code that takes `setTimeout` and `clearTimeout`. */
  readonly timers: Timers = {
    now: this.now,
    setTimeout: (fn, ms) => {
      const timer: Timer = { at: this.#t + Math.max(0, ms), seq: this.#seq++, fire: fn };
      this.#timers.push(timer);
      return timer;
    },
    clearTimeout: (handle) => {
      this.#timers = this.#timers.filter((t) => t !== handle);
    },
  };

  /** Moves time forward by `ms`, firing due timers in order and letting their work settle. */
  async advance(ms: number): Promise<void> {
    const end = this.#t + ms;
    await settle();
    for (;;) {
      const next = this.#next();
      if (!next || next.at > end) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#t = Math.max(this.#t, next.at);
      next.fire();
      await settle();
    }
    this.#t = end;
    await settle();
  }

  /** Advances in `stepMs` steps until `condition` holds; returns the time it took. */
  async advanceUntil(condition: () => boolean, limitMs: number, stepMs = 100): Promise<number> {
    const start = this.#t;
    while (!condition()) {
      if (this.#t - start >= limitMs) throw new Error(`condition not met within ${limitMs} ms`);
      await this.advance(stepMs);
    }
    return this.#t - start;
  }

  /** Moves time without firing timers: an event loop that was blocked for `ms`. */
  jump(ms: number): void {
    this.#t += ms;
  }

  #next(): Timer | undefined {
    return this.#timers.reduce<Timer | undefined>(
      (a, b) => (!a || b.at < a.at || (b.at === a.at && b.seq < a.seq) ? b : a),
      undefined,
    );
  }
}

/** Lets every pending promise callback run (a macrotask runs after all queued microtasks). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
