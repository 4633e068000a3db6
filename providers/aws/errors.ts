/**
 * Classifies AWS SDK errors once, at the client middleware, into `CloudError`. Everything above
 * the clients reads `notFound`, `throttled` and `cloudCode`, never SDK exception classes.
 */
import { CloudError } from '../../contract/errors.js';

/** Codes AWS uses for "slow down" across ELBv2 and EC2. */
const throttleCodes = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'SlowDown',
]);

/** Lookups that found nothing: callers treat these as "absent", never as failures. */
const notFoundCodes = new Set([
  'LoadBalancerNotFound',
  'TargetGroupNotFound',
  'ListenerNotFound',
  'InvalidGroup.NotFound',
  'InvalidSubnetID.NotFound',
]);

interface SdkErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

/** The error code AWS sent: SDK v3 names modelled errors `FooException`; the wire code is `Foo`. */
export function awsErrorCode(err: unknown): string {
  const e = (err ?? {}) as SdkErrorShape;
  const raw = e.Code ?? (typeof e.code === 'string' ? e.code : undefined) ?? e.name ?? 'Unknown';
  return raw.replace(/Exception$/, '');
}

export function classifyAwsError(operation: string, err: unknown): CloudError {
  if (err instanceof CloudError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const cloudCode = awsErrorCode(err);
  const throttled =
    throttleCodes.has(cloudCode) ||
    throttleCodes.has(e.name ?? '') ||
    e.$retryable?.throttling === true ||
    e.$metadata?.httpStatusCode === 429;
  const notFound = notFoundCodes.has(cloudCode);
  // No $fault means the request never got an AWS answer (socket, DNS, timeout): worth retrying.
  const retryable = throttled || e.$fault !== 'client' || e.$retryable !== undefined;
  return new CloudError(`${operation}: ${cloudCode}: ${e.message ?? String(err)}`, {
    operation,
    cloudCode,
    throttled,
    notFound,
    retryable: notFound ? false : retryable,
    cause: err,
  });
}

/** True for a `CloudError` carrying exactly `code`. */
export function hasCloudCode(err: unknown, ...codes: string[]): boolean {
  return err instanceof CloudError && codes.includes(err.cloudCode);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof CloudError && err.notFound;
}
