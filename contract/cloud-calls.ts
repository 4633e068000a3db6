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
export const UNLIMITED_BUDGET: CallBudget = Object.freeze({ qps: Infinity, burst: Infinity, concurrency: Infinity });

export interface CloudCalls {
  /**
   * Runs `fn` under `budget`'s limits (an unknown budget name uses `default`), shared by every
   * worker. `operation` names the API call for metrics (`CreateLoadBalancer`). A throttled answer
   * (a `CloudError` with `throttled`) pauses the whole budget and retries the call; any other
   * error reaches the caller as thrown.
   */
  call<T>(budget: string, operation: string, fn: () => Promise<T>): Promise<T>;
}
