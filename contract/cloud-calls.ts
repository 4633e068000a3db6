/**
 * The gate a provider sends every cloud API call through. The core builds it (runtime/cloud-calls.ts)
 * and hands it to the provider factory; the contract holds only its shape, so a plugin depends on
 * this folder and nothing else of kube-lbc.
 */

/** One cloud call's worth of throttling: a token bucket plus a bound on calls in flight. */
export interface CallBudget {
  /** Sustained calls per second. */
  readonly qps: number;
  /** Calls allowed at once after a quiet period. */
  readonly burst: number;
  /** Calls in flight at once. */
  readonly concurrency: number;
}

/** A budget with no limit, for in-memory providers and for calls made before budgets are known. */
export const UNLIMITED_BUDGET: CallBudget = Object.freeze({
  qps: Infinity,
  burst: Infinity,
  concurrency: Infinity,
});

/** The `cloudCode` of a `CloudError` for an attempt that got no answer in time. */
export const TIMEOUT_CODE = 'Timeout';

/** What the caller of `call` declares about one call. */
export interface CallOptions<T> {
  /**
   * Sending the request twice has the effect of sending it once: every read, a create the cloud
   * answers idempotently (by name or client token), a set-to-this-value update. A transient
   * failure of such a call is retried inside the gate. Leave it unset for any other write: its
   * failure reaches the provider, whose next sync reads before it writes again.
   * @default false
   */
  readonly idempotent?: boolean;
  /**
   * For a write that is not idempotent: after a transient failure (its answer may have been lost
   * after the cloud acted), looks whether it took effect, returning what the call would have
   * returned, or `undefined` to send it again. Runs between attempts, outside the budget's slot,
   * and its own cloud reads go through the gate as calls of their own.
   */
  readonly verify?: () => Promise<T | undefined>;
  /**
   * The call changes nothing in the cloud: a read. Required of every call a provider makes in
   * `planLoadBalancer`, where the gate refuses any call without it. Reads are also idempotent.
   * @default false
   */
  readonly readOnly?: boolean;
  /** This call's attempt deadline. @default the gate's `attemptTimeoutMs` */
  readonly timeoutMs?: number;
}

export interface CloudCalls {
  /**
   * Runs `fn` under `budget`'s limits (an unknown budget name uses `default`), shared by every
   * worker. `operation` names the API call for metrics (`CreateLoadBalancer`). `fn` is given the
   * attempt's signal, aborted when the gate abandons the attempt at its deadline: pass it to the
   * SDK. A throttled answer (a `CloudError` with `throttled`) pauses the whole budget and retries
   * the call; a transient failure (a retryable `CloudError`, a timeout) is retried when `options`
   * say repeating is safe; any other error reaches the caller as thrown.
   */
  call<T>(
    budget: string,
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    options?: CallOptions<T>,
  ): Promise<T>;
}
