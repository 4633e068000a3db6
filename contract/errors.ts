/**
 * Errors a provider throws, each with a stable `code`, so the core can decide what to do without
 * parsing messages. Classify cloud SDK errors once, in the provider's adapter, into these.
 */
import type { FieldError, LoadBalancerStatus } from './provider.js';
import { quote, truncate } from './quote.js';

/**
 * Not a failure: the cloud needs time (an NLB still provisioning). The core retries after exactly
 * `delayMs`, without backoff, and publishes `status` if given with a Provisioning condition.
 */
export class RetryAfterError extends Error {
  readonly code = 'ERR_RETRY_AFTER' as const;
  constructor(
    message: string,
    readonly delayMs: number,
    readonly status?: LoadBalancerStatus,
  ) {
    super(message);
    this.name = 'RetryAfterError';
  }
}

/**
 * The Service asks for something this provider cannot do, or carries a bad value. Not retried
 * until the Service changes; the core records a Warning Event naming each field.
 */
export class InvalidServiceError extends Error {
  readonly code = 'ERR_INVALID_SERVICE' as const;
  constructor(readonly fieldErrors: readonly FieldError[]) {
    super(formatFieldErrors(fieldErrors));
    this.name = 'InvalidServiceError';
  }
}

/**
 * A cloud API call failed. `throttled` means the cloud asked us to slow down (every worker slows);
 * `retryable` false means retrying the same request cannot help (but the core still retries the
 * Service with backoff, since the world may change).
 */
export class CloudError extends Error {
  readonly code = 'ERR_CLOUD' as const;
  readonly operation: string;
  readonly cloudCode: string;
  readonly retryable: boolean;
  readonly throttled: boolean;
  readonly notFound: boolean;
  constructor(
    message: string,
    options: {
      operation: string;
      cloudCode: string;
      retryable?: boolean;
      throttled?: boolean;
      notFound?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.name = 'CloudError';
    this.operation = options.operation;
    this.cloudCode = options.cloudCode;
    this.retryable = options.retryable ?? true;
    this.throttled = options.throttled ?? false;
    this.notFound = options.notFound ?? false;
  }
}

/** A bad `--cloud-config`: names the key. The command exits 2. */
export class ProviderConfigError extends Error {
  readonly code = 'ERR_PROVIDER_CONFIG' as const;
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`cloud-config ${key}: ${message}`);
    this.name = 'ProviderConfigError';
  }
}

/** `--cloud-provider` names neither a built-in nor an importable module. */
export class UnknownProviderError extends Error {
  readonly code = 'ERR_UNKNOWN_PROVIDER' as const;
  constructor(
    readonly providerName: string,
    options?: { cause?: unknown },
  ) {
    super(`unknown provider ${quote(providerName)}`, options);
    this.name = 'UnknownProviderError';
  }
}

/** The provider was found but its factory threw. */
export class ProviderStartError extends Error {
  readonly code = 'ERR_PROVIDER_START' as const;
  constructor(
    readonly providerName: string,
    options: { cause: unknown },
  ) {
    super(
      `provider ${quote(providerName)} failed to start: ${errorMessage(options.cause)}`,
      options,
    );
    this.name = 'ProviderStartError';
  }
}

/**
 * Walks `err` and its `cause` chain for the first error of class `type`, as Go's errors.As.
 * Matches by name too: a plugin may bring its own copy of this module, and then `instanceof`
 * fails for an error that is, by contract, the same.
 */
export function findCause<T extends Error>(
  err: unknown,
  type: abstract new (...args: never[]) => T,
): T | undefined {
  const seen = new Set<unknown>();
  for (let e = err; e instanceof Error && !seen.has(e); e = e.cause) {
    if (e instanceof type || e.name === type.name) return e as T;
    seen.add(e);
  }
  return undefined;
}

/**
 * `field: message; field: message`, as Events and conditions show them, each cut short: a
 * provider (or a plugin) may quote a value whole, and a 200 KB annotation must not become a
 * 200 KB condition, Event and log line.
 */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${truncate(e.field, 128)}: ${truncate(e.message, 256)}`).join('; ');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
