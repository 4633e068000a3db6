/**
 * Fault injection for tests: match requests by operation (`forwardingRules.insert`,
 * `regionOperations.wait`) and make them slow, fail, lose their answer after the write happened,
 * or be rate limited. Rules apply in the order added; each fires `times` times (default once).
 */
import { ComputeError, OperationFailure, rateLimited } from './errors.js';

export type FaultEffect =
  /** Answer after `ms`. */
  | { readonly kind: 'latency'; readonly ms: number }
  /** Refuse the request with this status and reason; nothing is written. */
  | {
      readonly kind: 'error';
      readonly status: number;
      readonly reason: string;
      readonly message?: string;
    }
  /** Apply the write, then drop the connection instead of answering. */
  | { readonly kind: 'lost-answer' }
  /** 403 rateLimitExceeded, or with `status: 429` a 429. */
  | { readonly kind: 'rate-limit'; readonly status?: 403 | 429 }
  /** Accept the write, but end its Operation DONE with this error (and write nothing). */
  | {
      readonly kind: 'operation-error';
      readonly code: string;
      readonly message?: string;
      readonly status?: number;
    };

export interface FaultRule {
  /** An exact operation name, or a pattern tested against it. */
  readonly operation: string | RegExp;
  readonly effect: FaultEffect;
  /** @default 1 */
  readonly times?: number;
}

export interface Fault {
  /** How many requests this rule has hit so far. */
  readonly hits: number;
  remove(): void;
}

interface Armed {
  readonly rule: FaultRule;
  left: number;
  hits: number;
}

export class Faults {
  #rules: Armed[] = [];

  inject(rule: FaultRule): Fault {
    const armed: Armed = { rule, left: rule.times ?? 1, hits: 0 };
    this.#rules.push(armed);
    return {
      get hits() {
        return armed.hits;
      },
      remove: () => {
        this.#rules = this.#rules.filter((r) => r !== armed);
      },
    };
  }

  clear(): void {
    this.#rules = [];
  }

  /** The effects for one request, consuming each matching rule once. */
  take(operation: string): FaultEffect[] {
    const effects: FaultEffect[] = [];
    for (const armed of this.#rules) {
      const { operation: want } = armed.rule;
      const match = typeof want === 'string' ? want === operation : want.test(operation);
      if (!match || armed.left <= 0) continue;
      armed.left--;
      armed.hits++;
      effects.push(armed.rule.effect);
    }
    this.#rules = this.#rules.filter((r) => r.left > 0);
    return effects;
  }
}

/** The synchronous refusal an effect stands for, if any. */
export function refusal(effect: FaultEffect): ComputeError | undefined {
  if (effect.kind === 'error')
    return new ComputeError(
      effect.status,
      effect.reason,
      effect.message ?? `injected ${effect.reason}`,
    );
  if (effect.kind === 'rate-limit') {
    const e = rateLimited();
    return effect.status === 429 ? new ComputeError(429, 'rateLimitExceeded', e.message) : e;
  }
  return undefined;
}

export function operationFailure(effect: FaultEffect): OperationFailure | undefined {
  return effect.kind === 'operation-error'
    ? new OperationFailure(
        effect.code,
        effect.message ?? `injected ${effect.code}`,
        effect.status ?? 400,
      )
    : undefined;
}
