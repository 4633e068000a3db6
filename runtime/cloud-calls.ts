/**
 * The gate every cloud API call goes through. One p-queue per budget (AWS limits describes,
 * mutations and target registration separately) shared by all workers, so the rate limit is the
 * cloud's and not one worker's. A throttled answer pauses the whole budget and retries the call,
 * so a throttle slows everyone instead of failing the Service that happened to hit it.
 */
import PQueue from 'p-queue';
import { UNLIMITED_BUDGET, type CallBudget, type CloudCalls } from '../contract/cloud-calls.js';
import { CloudError, findCause } from '../contract/errors.js';
import { backoffDelay } from './backoff.js';

export type CallOutcome = 'success' | 'error' | 'throttled';

/** Told about each finished call attempt; the metrics module listens here. */
export type CallObserver = (call: {
  budget: string;
  operation: string;
  outcome: CallOutcome;
  seconds: number;
}) => void;

export interface CloudCallsOptions {
  /**
   * Overrides the `default` budget's qps and burst (the `--cloud-qps`/`--cloud-burst` flags);
   * every other budget is scaled by the same factor, so the provider's proportions hold.
   */
  defaultOverride?: Partial<CallBudget>;
  observer?: CallObserver;
  /** Attempts for a throttled call before the error reaches the provider. @default 5 */
  throttleAttempts?: number;
  /** Pause after the n-th consecutive throttle (n from 1). @default 1 s doubling to 30 s */
  throttleBackoffMs?: (n: number) => number;
  /** @default setTimeout-based */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /**
   * Aborted at shutdown: calls still waiting for their turn or out a throttle pause reject at once
   * with its reason, so the drain does not sit out a pause of up to 30 s. Calls already running
   * finish; the provider decides what an abort means for them.
   */
  signal?: AbortSignal;
}

interface BudgetQueue {
  readonly queue: PQueue;
  consecutiveThrottles: number;
  /** The pause in effect: throttles of calls already in flight join it instead of growing it. */
  pause: Promise<void> | undefined;
}

export class CloudCallGate implements CloudCalls {
  readonly #budgets = new Map<string, BudgetQueue>();
  #declared: Readonly<Record<string, CallBudget>> = { default: UNLIMITED_BUDGET };
  readonly #options: Required<Omit<CloudCallsOptions, 'defaultOverride' | 'observer' | 'signal'>> &
    Pick<CloudCallsOptions, 'defaultOverride' | 'observer' | 'signal'>;
  #calls = 0;
  readonly #waiters = new Set<AbortController>();

  constructor(options: CloudCallsOptions = {}) {
    this.#options = {
      throttleAttempts: 5,
      throttleBackoffMs: (n) => backoffDelay(n, { baseMs: 1000, maxMs: 30_000, jitter: 0 }),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
      now: Date.now,
      ...options,
    };
    const { signal } = options;
    signal?.addEventListener(
      'abort',
      () => {
        for (const waiter of this.#waiters) waiter.abort(signal.reason);
        this.#waiters.clear();
      },
      { once: true },
    );
  }

  /**
   * Installs the provider's declared budgets. Called once the provider exists; calls made before
   * (during the provider's own start-up) run under an unlimited default.
   */
  configure(budgets: Readonly<Record<string, CallBudget>>): void {
    this.#declared = budgets;
    this.#budgets.clear();
  }

  /** Calls made through this gate since it was created (benchmarks read it). */
  get totalCalls(): number {
    return this.#calls;
  }

  /**
   * Runs `fn` under `budget`'s limits. `operation` names the API call for metrics
   * (`CreateLoadBalancer`). An unknown budget name uses `default`.
   */
  async call<T>(budget: string, operation: string, fn: () => Promise<T>): Promise<T> {
    const name = budget in this.#declared ? budget : 'default';
    const state = this.#queueFor(name);
    const { signal } = this.#options;
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      const started = this.#options.now();
      try {
        const result = await this.#admit(state, fn);
        state.consecutiveThrottles = 0;
        this.#observe(name, operation, 'success', started);
        return result as T;
      } catch (err) {
        if (signal?.aborted && err === signal.reason) throw err; // never ran: not a call to count
        const throttled = findCause(err, CloudError)?.throttled === true;
        this.#observe(name, operation, throttled ? 'throttled' : 'error', started);
        if (!throttled || attempt >= this.#options.throttleAttempts) throw err;
        await this.#backOff(state);
      }
    }
  }

  /**
   * Runs `fn` in its budget's queue. At shutdown a call still waiting for its turn leaves the
   * queue; one already running is not cut loose (p-queue would reject it and free its slot while
   * the request goes on), so its outcome still reaches the provider.
   */
  async #admit<T>(state: BudgetQueue, fn: () => Promise<T>): Promise<T> {
    const waiting = this.#waiting();
    try {
      return (await state.queue.add(
        () => {
          waiting.done();
          return fn();
        },
        { signal: waiting.signal },
      )) as T;
    } finally {
      waiting.done();
    }
  }

  /**
   * A signal that aborts at shutdown until `done()`. One listener on the shutdown signal serves
   * every waiting call (hundreds may wait out a pause), instead of one listener each.
   */
  #waiting(): { signal: AbortSignal | undefined; done(): void } {
    if (!this.#options.signal) return { signal: undefined, done() {} };
    const waiter = new AbortController();
    if (this.#options.signal.aborted) waiter.abort(this.#options.signal.reason);
    else this.#waiters.add(waiter);
    return { signal: waiter.signal, done: () => this.#waiters.delete(waiter) };
  }

  #observe(budget: string, operation: string, outcome: CallOutcome, started: number): void {
    this.#calls++;
    this.#options.observer?.({
      budget,
      operation,
      outcome,
      seconds: (this.#options.now() - started) / 1000,
    });
  }

  /**
   * Pauses the whole budget so every worker waits, not only the one that was throttled. The
   * other calls in flight are usually throttled in the same breath: they wait out the same pause,
   * or N workers would push the backoff N steps (to its 30 s cap) on one throttling episode.
   * Shutdown ends the pause: every call waiting it out rejects with the shutdown's reason.
   */
  async #backOff(state: BudgetQueue): Promise<void> {
    if (state.pause) return state.pause;
    state.consecutiveThrottles++;
    const delay = this.#options.throttleBackoffMs(state.consecutiveThrottles);
    const waiting = this.#waiting();
    state.queue.pause();
    state.pause = abortable(this.#options.sleep(delay), waiting.signal).finally(() => {
      waiting.done();
      state.pause = undefined;
      state.queue.start();
    });
    return state.pause;
  }

  #overridden(b: CallBudget): CallBudget {
    const base = this.#declared.default ?? UNLIMITED_BUDGET;
    const { qps, burst } = this.#options.defaultOverride ?? {};
    const scale = (value: number, override: number | undefined, baseValue: number) =>
      override === undefined ? value : Number.isFinite(baseValue) && Number.isFinite(value) ? (value * override) / baseValue : override;
    return { ...b, qps: scale(b.qps, qps, base.qps), burst: scale(b.burst, burst, base.burst) };
  }

  #queueFor(name: string): BudgetQueue {
    let state = this.#budgets.get(name);
    if (!state) {
      const declared = this.#declared[name] ?? this.#declared.default ?? UNLIMITED_BUDGET;
      const b = this.#overridden(declared);
      state = { queue: new PQueue(queueOptions(b)), consecutiveThrottles: 0, pause: undefined };
      this.#budgets.set(name, state);
    }
    return state;
  }
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts (or at once if it has). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A token bucket of `burst` refilled at `qps`, approximated by p-queue's interval window. */
function queueOptions(b: CallBudget): ConstructorParameters<typeof PQueue>[0] {
  const concurrency = b.concurrency > 0 ? b.concurrency : Infinity;
  if (!Number.isFinite(b.qps)) return { concurrency };
  const burst = Math.max(1, Number.isFinite(b.burst) ? Math.floor(b.burst) : Math.ceil(b.qps));
  return { concurrency, intervalCap: burst, interval: Math.ceil((burst / b.qps) * 1000) };
}
