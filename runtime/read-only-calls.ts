/**
 * The gate `kube-lbc plan` hands the provider: it passes on every call marked `readOnly` and
 * refuses every other one before it is sent, so a plan cannot change the cloud whatever the
 * provider's code does. It counts what it passed and refused, for the plan's report and tests.
 */
import type { CallOptions, CloudCalls } from '../contract/cloud-calls.js';

/** A call a read-only gate refused: a provider bug, since a plan must only read. */
export class WriteRefusedError extends Error {
  readonly code = 'WriteRefused';
  constructor(readonly operation: string) {
    super(`${operation}: refused, a plan makes no cloud writes (the call was not marked readOnly)`);
    this.name = 'WriteRefusedError';
  }
}

export class ReadOnlyCloudCalls implements CloudCalls {
  readonly #inner: CloudCalls;
  /** Operations passed on, in order. */
  readonly reads: string[] = [];
  /** Operations refused, in order. */
  readonly refused: string[] = [];

  constructor(inner: CloudCalls) {
    this.#inner = inner;
  }

  call<T>(
    budget: string,
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    options: CallOptions<T> = {},
  ): Promise<T> {
    if (options.readOnly !== true) {
      this.refused.push(operation);
      return Promise.reject(new WriteRefusedError(operation));
    }
    this.reads.push(operation);
    return this.#inner.call(budget, operation, fn, options);
  }
}
