/** rr and wrr, as IPVS's ip_vs_rr.c and ip_vs_wrr.c. */
import type { BackendView, Scheduler } from './types.js';

/** rr: the next available backend after the last one chosen. */
export class RoundRobin implements Scheduler {
  #last = -1;

  pick(backends: readonly BackendView[]): BackendView | undefined {
    const n = backends.length;
    for (let step = 1; step <= n; step++) {
      const i = (this.#last + step) % n;
      if (backends[i]!.available) {
        this.#last = i;
        return backends[i];
      }
    }
    return undefined;
  }
}

/**
 * wrr: IPVS's interleaved weighted round robin. A current weight `cw` steps down by the weights'
 * gcd on each pass over the list; a backend is chosen when its weight is at least `cw`. With
 * weights 3,2,1 one cycle is a a b a b c: spread out, never all of a's turns in a row.
 */
export class WeightedRoundRobin implements Scheduler {
  #index = -1;
  #cw = 0;

  pick(backends: readonly BackendView[]): BackendView | undefined {
    const usable = backends.filter((b) => b.available);
    if (usable.length === 0) return undefined;
    const maxWeight = Math.max(...usable.map((b) => b.weight));
    const step = usable.map((b) => b.weight).reduce(gcd);
    const n = backends.length;
    // One full cycle visits every (index, cw) pair at most once.
    for (let guard = n * (maxWeight / step + 1); guard > 0; guard--) {
      this.#index = (this.#index + 1) % n;
      if (this.#index === 0) {
        this.#cw -= step;
        if (this.#cw <= 0) this.#cw = maxWeight;
      }
      const b = backends[this.#index]!;
      if (b.available && b.weight >= this.#cw) return b;
    }
    return undefined;
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
