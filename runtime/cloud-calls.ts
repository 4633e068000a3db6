/**
 * The gate every cloud API call goes through. One p-queue per budget (AWS limits describes,
 * mutations and target registration separately) shared by all workers, so the rate limit is the
 * cloud's and not one worker's. A throttled answer pauses the whole budget and retries the call,
 * so a throttle slows everyone instead of failing the Service that happened to hit it.
 *
 * Every attempt has a deadline: one that has not settled by then is abandoned (its signal aborts)
 * and its slot freed, so a hung endpoint cannot hold a budget. A transient failure (a 5xx, a lost
 * connection, a timeout: a `CloudError` with `retryable` set) of a call its caller declared safe
 * to repeat is retried here with jittered backoff, a few times, before the provider sees it; so one
 * lost answer among the calls of a create costs a fraction of a second, not a sync's backoff.
 */
import PQueue from 'p-queue';
import {
  TIMEOUT_CODE,
  UNLIMITED_BUDGET,
  type CallBudget,
  type CallOptions,
  type CloudCalls,
} from '../contract/cloud-calls.js';
import { CloudError, findCause } from '../contract/errors.js';
import { backoffDelay } from './backoff.js';

/** `timeout`: the attempt passed its deadline, at the gate or in the SDK (`cloudCode: 'Timeout'`). */
export type CallOutcome = 'success' | 'error' | 'throttled' | 'timeout';

/** Told about each finished call attempt; the metrics module listens here. */
export type CallObserver = (call: {
  budget: string;
  operation: string;
  outcome: CallOutcome;
  seconds: number;
  /** 1 (or absent) for a call's first attempt; above 1, a retry after a throttle or a transient failure. */
  attempt?: number;
}) => void;

export interface CloudCallsOptions {
  /**
   * Overrides the `default` budget's qps and burst (the `--cloud-qps`/`--cloud-burst` flags);
   * every other budget is scaled by the same factor, so the provider's proportions hold.
   */
  defaultOverride?: Partial<CallBudget>;
  /**
   * Per budget, the values that replace the provider's (the `--cloud-budget family=...` flag):
   * they win over `defaultOverride`'s scaling for that budget. A name the provider does not
   * declare is the caller's to refuse (`undeclaredBudgets`).
   */
  budgetOverrides?: Readonly<Record<string, Partial<CallBudget>>>;
  observer?: CallObserver;
  /** Attempts for a throttled call before the error reaches the provider. @default 5 */
  throttleAttempts?: number;
  /** Pause after the n-th consecutive throttle (n from 1). @default 1 s doubling to 30 s */
  throttleBackoffMs?: (n: number) => number;
  /**
   * Attempts for a call failing transiently (retryable, not throttled), when it was declared
   * `idempotent` or has a `verify`. @default 3, as the AWS SDK's standard retry mode
   */
  transientAttempts?: number;
  /**
   * Pause before retry n (from 1) of a transient failure. @default full jitter (`random()` times
   * 100 ms doubling, at most 2 s), as the AWS SDK's standard retry strategy
   */
  transientBackoffMs?: (n: number) => number;
  /**
   * How long one attempt may take before the gate abandons it: its `fn` signal aborts, its slot is
   * freed, and it fails with a retryable `CloudError` coded `Timeout`. A backstop above the SDK's
   * own timeouts, and the only one for a plugin whose SDK has none. @default 60 s
   */
  attemptTimeoutMs?: number;
  /** @default Math.random */
  random?: () => number;
  /**
   * Resolves after `ms`, or at once (resolving) when `signal` aborts. It also times attempt
   * deadlines: a test that makes it instant sets `attemptTimeoutMs: Infinity`, or every attempt
   * times out at once. @default setTimeout-based
   */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
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
  readonly #options: Required<
    Omit<CloudCallsOptions, 'defaultOverride' | 'budgetOverrides' | 'observer' | 'signal'>
  > &
    Pick<CloudCallsOptions, 'defaultOverride' | 'budgetOverrides' | 'observer' | 'signal'>;
  #calls = 0;
  readonly #waiters = new Set<AbortController>();
  /** Calls inside the gate (waiting, running or between attempts), for the stall check. */
  #inGate = 0;
  /** When an attempt last started or settled. */
  #lastProgress: number;

  constructor(options: CloudCallsOptions = {}) {
    const random = options.random ?? Math.random;
    this.#options = {
      throttleAttempts: 5,
      throttleBackoffMs: (n) => backoffDelay(n, { baseMs: 1000, maxMs: 30_000, jitter: 0 }),
      transientAttempts: 3,
      transientBackoffMs: (n) => Math.round(random() * Math.min(2000, 100 * 2 ** (n - 1))),
      attemptTimeoutMs: 60_000,
      random,
      sleep: timerSleep,
      now: Date.now,
      ...options,
    };
    this.#lastProgress = this.#options.now();
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

  /** The names in `budgetOverrides` that the installed budgets do not declare. */
  undeclaredBudgets(): string[] {
    return Object.keys(this.#options.budgetOverrides ?? {}).filter((n) => !(n in this.#declared));
  }

  /** The limits a budget runs under: the provider's, scaled by `defaultOverride`, then overridden. */
  effectiveBudget(name: string): CallBudget {
    const declared = this.#declared[name] ?? this.#declared.default ?? UNLIMITED_BUDGET;
    return { ...this.#overridden(declared), ...this.#options.budgetOverrides?.[name] };
  }

  /** Calls made through this gate since it was created (benchmarks read it). */
  get totalCalls(): number {
    return this.#calls;
  }

  /**
   * Milliseconds since an attempt last started or settled while calls are in the gate; 0 when
   * none is. A gate that is working moves at least once per attempt deadline or throttle pause.
   */
  stalledForMs(): number {
    return this.#inGate > 0 ? Math.max(0, this.#options.now() - this.#lastProgress) : 0;
  }

  /** For `/healthz`: throws when calls wait and none has moved for longer than `limitMs`. */
  healthCheck(limitMs: number): void {
    const stalled = this.stalledForMs();
    if (limitMs > 0 && stalled > limitMs) {
      throw new Error(
        `${this.#inGate} cloud calls waiting, none started or finished for ${Math.round(stalled / 1000)} s (limit ${Math.round(limitMs / 1000)} s)`,
      );
    }
  }

  /**
   * Runs `fn` under `budget`'s limits. `operation` names the API call for metrics
   * (`CreateLoadBalancer`). An unknown budget name uses `default`. `fn` is given the attempt's
   * signal, aborted when the gate abandons the attempt at its deadline: pass it to the SDK.
   */
  async call<T>(
    budget: string,
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    options: CallOptions<T> = {},
  ): Promise<T> {
    const name = budget in this.#declared ? budget : 'default';
    const state = this.#queueFor(name);
    const { signal } = this.#options;
    const repeatable =
      options.idempotent === true || options.readOnly === true || options.verify !== undefined;
    const timeoutMs = options.timeoutMs ?? this.#options.attemptTimeoutMs;
    let throttles = 0;
    let failures = 0;
    this.#inGate++;
    try {
      for (let attempt = 1; ; attempt++) {
        signal?.throwIfAborted();
        const started = this.#options.now();
        try {
          const result = await this.#admit(state, operation, fn, timeoutMs);
          state.consecutiveThrottles = 0;
          this.#observe(name, operation, 'success', started, attempt);
          return result;
        } catch (err) {
          if (signal?.aborted && err === signal.reason) throw err; // never ran: not a call to count
          const cloud = findCause(err, CloudError);
          const outcome: CallOutcome = cloud?.throttled
            ? 'throttled'
            : cloud?.cloudCode === TIMEOUT_CODE
              ? 'timeout'
              : 'error';
          this.#observe(name, operation, outcome, started, attempt);
          if (outcome === 'throttled') {
            if (++throttles >= this.#options.throttleAttempts) throw err;
            await this.#backOff(state);
            continue;
          }
          const transient = cloud !== undefined && cloud.retryable && !cloud.notFound;
          if (!transient || !repeatable || ++failures >= this.#options.transientAttempts) throw err;
          await this.#pause(this.#options.transientBackoffMs(failures));
          if (options.verify) {
            const done = await options.verify().catch(() => {
              throw err;
            });
            if (done !== undefined) return done;
          }
        }
      }
    } finally {
      this.#inGate--;
    }
  }

  /**
   * Runs `fn` in its budget's queue. At shutdown a call still waiting for its turn leaves the
   * queue; one already running is not cut loose (p-queue would reject it and free its slot while
   * the request goes on), so its outcome still reaches the provider. At its deadline it is.
   */
  async #admit<T>(
    state: BudgetQueue,
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    timeoutMs: number,
  ): Promise<T> {
    const waiting = this.#waiting();
    try {
      return (await state.queue.add(
        () => {
          waiting.done();
          return this.#attempt(operation, fn, timeoutMs);
        },
        { signal: waiting.signal },
      )) as T;
    } finally {
      waiting.done();
    }
  }

  /** `fn`, or a `Timeout` CloudError once `timeoutMs` pass first: the slot is freed either way. */
  #attempt<T>(
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    timeoutMs: number,
  ): Promise<T> {
    this.#lastProgress = this.#options.now();
    const attempt = new AbortController();
    const timer = new AbortController();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (finish: () => void) => {
        if (settled) return;
        settled = true;
        // With a reason of our own: abort() without one builds a DOMException, stack and all,
        // once per cloud call (1% of the controller's CPU converging 200 Services).
        timer.abort(SETTLED);
        this.#lastProgress = this.#options.now();
        finish();
      };
      if (Number.isFinite(timeoutMs)) {
        void this.#options.sleep(timeoutMs, timer.signal).then(() => {
          if (timer.signal.aborted) return;
          const timeout = new CloudError(`${operation}: no answer within ${timeoutMs} ms`, {
            operation,
            cloudCode: TIMEOUT_CODE,
            retryable: true,
          });
          settle(() => {
            attempt.abort(timeout);
            reject(timeout);
          });
        });
      }
      let running: Promise<T>;
      try {
        running = fn(attempt.signal);
      } catch (err) {
        running = Promise.reject(err);
      }
      running.then(
        (value) => settle(() => resolve(value)),
        (err: unknown) => settle(() => reject(err)),
      );
    });
  }

  /** Waits `ms` between attempts; shutdown ends the wait with its reason. */
  async #pause(ms: number): Promise<void> {
    if (ms <= 0) return;
    const waiting = this.#waiting();
    try {
      await abortable(this.#options.sleep(ms), waiting.signal);
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

  #observe(
    budget: string,
    operation: string,
    outcome: CallOutcome,
    started: number,
    attempt: number,
  ): void {
    this.#calls++;
    this.#options.observer?.({
      budget,
      operation,
      outcome,
      seconds: (this.#options.now() - started) / 1000,
      attempt,
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
      override === undefined
        ? value
        : Number.isFinite(baseValue) && Number.isFinite(value)
          ? (value * override) / baseValue
          : override;
    return { ...b, qps: scale(b.qps, qps, base.qps), burst: scale(b.burst, burst, base.burst) };
  }

  #queueFor(name: string): BudgetQueue {
    let state = this.#budgets.get(name);
    if (!state) {
      const b = this.effectiveBudget(name);
      state = { queue: new PQueue(queueOptions(b)), consecutiveThrottles: 0, pause: undefined };
      this.#budgets.set(name, state);
    }
    return state;
  }
}

/** Why an attempt's deadline timer is stopped: the attempt settled first. */
const SETTLED = Symbol('settled');

function timerSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
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

/**
 * A token bucket of `burst` refilled at `qps`, approximated by p-queue's fixed windows. A window
 * may be spent at its very end and the next at its start, so two windows' worth can go at once:
 * with windows of `burst / 2` calls every `burst / 2 / qps` seconds, any stretch of T seconds
 * sends at most `burst + qps * T`, which the cloud's bucket of that size and rate accepts. (Whole
 * windows of `burst` would send up to twice the burst at once and be throttled for it.)
 */
export function queueOptions(b: CallBudget): ConstructorParameters<typeof PQueue>[0] {
  const concurrency = b.concurrency > 0 ? b.concurrency : Infinity;
  if (!Number.isFinite(b.qps)) return { concurrency };
  const burst = Math.max(1, Number.isFinite(b.burst) ? Math.floor(b.burst) : Math.ceil(b.qps));
  const cap = Math.max(1, Math.floor(burst / 2));
  return { concurrency, intervalCap: cap, interval: Math.ceil((cap / b.qps) * 1000) };
}
