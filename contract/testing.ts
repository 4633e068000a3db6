/**
 * Test helpers for provider authors, exported as `kube-lbc/testing`: a `CallContext` that records
 * the Events a provider asks for, and a `CloudCalls` gate that runs each call at once and
 * records it, for unit tests of an adapter outside the conformance kit.
 *
 *   const ctx = testCallContext();
 *   const calls = testCloudCalls();
 *   const provider = await createProvider({ ...options, cloudCalls: calls });
 *   await provider.ensureLoadBalancer(ctx, 'kubernetes', svc, nodes);
 *   assert.deepEqual(calls.operations(), ['GetAssignment', 'CreateAssignment', 'SetTargets']);
 *   assert.deepEqual(ctx.events, []);
 */
import type { CloudCalls } from './cloud-calls.js';
import { noopLogger, type Logger } from './logger.js';
import type { CallContext, ClusterView } from './provider.js';

export { noopLogger } from './logger.js';

export interface RecordedEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface TestCallContext extends CallContext {
  /** Every Event recorded through this context, in order. */
  readonly events: RecordedEvent[];
}

/** A context with a fresh signal (or `signal`), a silent logger (or `logger`), recording Events. */
export function testCallContext(
  options: { signal?: AbortSignal; logger?: Logger } = {},
): TestCallContext {
  const events: RecordedEvent[] = [];
  return {
    signal: options.signal ?? new AbortController().signal,
    logger: options.logger ?? noopLogger,
    events,
    recordEvent: (type, reason, message) => void events.push({ type, reason, message }),
  };
}

export interface RecordedCall {
  readonly budget: string;
  readonly operation: string;
  /** Whether `fn` threw. */
  readonly failed: boolean;
}

export interface TestCloudCalls extends CloudCalls {
  /** Every call, in the order made. */
  readonly calls: RecordedCall[];
  /** The operation names, in order. */
  operations(): string[];
}

/**
 * A gate with no limits and no retries: each call runs at once and is recorded. (The real gate
 * retries a throttled `CloudError`; this one hands every error straight back.)
 */
export function testCloudCalls(): TestCloudCalls {
  const calls: RecordedCall[] = [];
  return {
    calls,
    operations: () => calls.map((c) => c.operation),
    async call<T>(
      budget: string,
      operation: string,
      fn: (signal: AbortSignal) => Promise<T>,
    ): Promise<T> {
      try {
        const result = await fn(new AbortController().signal);
        calls.push({ budget, operation, failed: false });
        return result;
      } catch (err) {
        calls.push({ budget, operation, failed: true });
        throw err;
      }
    },
  };
}

/** A `ClusterView` over fixed lists. */
export function testClusterView(
  view: Partial<{ services: ClusterView['services']; nodes: ClusterView['nodes'] }> = {},
): ClusterView {
  return { services: view.services ?? (() => []), nodes: view.nodes ?? (() => []) };
}
