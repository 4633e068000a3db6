/**
 * The connection-counting schedulers, as IPVS's lc, wlc, sed and nq. IPVS takes the first of
 * equal candidates; here ties are broken at random, because without IPVS's inactive-connection
 * count short sequential connections would otherwise all land on the first backend.
 */
import type { BackendView, PickContext, Scheduler, SchedulerOptions } from './types.js';

/** Lower is better; compared as fractions so weights need no division. */
type Cost = (b: BackendView) => { num: number; den: number };

class CostScheduler implements Scheduler {
  readonly #cost: Cost;
  readonly #random: () => number;

  constructor(cost: Cost, options: SchedulerOptions) {
    this.#cost = cost;
    this.#random = options.random ?? Math.random;
  }

  pick(backends: readonly BackendView[]): BackendView | undefined {
    return pickCheapest(
      backends.filter((b) => b.available),
      this.#cost,
      this.#random,
    );
  }
}

function pickCheapest(
  candidates: readonly BackendView[],
  cost: Cost,
  random: () => number,
): BackendView | undefined {
  let best: BackendView[] = [];
  let bestCost = { num: Infinity, den: 1 };
  for (const b of candidates) {
    const c = cost(b);
    const diff = c.num * bestCost.den - bestCost.num * c.den;
    if (best.length === 0 || diff < 0) {
      best = [b];
      bestCost = c;
    } else if (diff === 0) best.push(b);
  }
  return best.length === 0 ? undefined : best[Math.floor(random() * best.length)];
}

/** lc: fewest active connections. */
export const leastConnections = (o: SchedulerOptions = {}) =>
  new CostScheduler((b) => ({ num: b.activeConnections, den: 1 }), o);

/** wlc: fewest active connections per unit of weight. */
export const weightedLeastConnections = (o: SchedulerOptions = {}) =>
  new CostScheduler((b) => ({ num: b.activeConnections, den: b.weight }), o);

/** sed: shortest expected delay, (active + 1) / weight: counts the connection being placed. */
export const shortestExpectedDelay = (o: SchedulerOptions = {}) =>
  new CostScheduler((b) => ({ num: b.activeConnections + 1, den: b.weight }), o);

/** nq: never queue: an idle backend if there is one, else as sed. */
export class NeverQueue implements Scheduler {
  readonly #random: () => number;
  readonly #sed: Scheduler;

  constructor(options: SchedulerOptions = {}) {
    this.#random = options.random ?? Math.random;
    this.#sed = shortestExpectedDelay(options);
  }

  pick(backends: readonly BackendView[], ctx: PickContext): BackendView | undefined {
    const idle = backends.filter((b) => b.available && b.activeConnections === 0);
    if (idle.length > 0) return idle[Math.floor(this.#random() * idle.length)];
    return this.#sed.pick(backends, ctx);
  }
}
