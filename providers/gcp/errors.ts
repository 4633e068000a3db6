/**
 * Classifies Compute Engine errors once, where the calls are made, into `CloudError`: the HTTP
 * errors of the REST transport (a GaxiosError whose message is Google's JSON body), transport
 * failures with no answer, and the `error` of an Operation that ended DONE.
 */
import { CloudError } from '../../contract/errors.js';

interface GoogleBody {
  error?: { code?: number; message?: string; errors?: { reason?: string; message?: string }[] };
}

/** Reasons that mean "slow down": the project's API rate quotas. */
const throttleReasons = new Set([
  'rateLimitExceeded',
  'userRateLimitExceeded',
  'RATE_LIMIT_EXCEEDED',
]);

export function classifyGcpError(operation: string, err: unknown): CloudError {
  if (err instanceof CloudError) return err;
  const e = (err ?? {}) as {
    status?: number;
    code?: number | string;
    message?: string;
    response?: { status?: number };
  };
  const status =
    e.status ?? e.response?.status ?? (typeof e.code === 'number' ? e.code : undefined);
  const body = parseBody(e.message);
  const reason =
    body?.error?.errors?.[0]?.reason ??
    (typeof e.code === 'string' ? e.code : status ? `HTTP${status}` : 'NoAnswer');
  const message = body?.error?.message ?? e.message ?? String(err);
  // 403 rateLimitExceeded and 429 are the rate quotas; 5xx is Google asking to come back later.
  const throttled =
    status === 429 || (status !== undefined && status >= 500) || throttleReasons.has(reason);
  return new CloudError(`${operation}: ${reason}: ${message}`, {
    operation,
    cloudCode: reason,
    throttled,
    notFound: status === 404,
    // No status: the request got no answer (a reset, a lost answer); a retry may well work.
    retryable: throttled || status === undefined || status === 409 || status === 412,
    cause: err,
  });
}

/** An Operation that ended DONE with `error`: Google's first error code and message. */
export function operationError(
  operation: string,
  op: {
    error?: { errors?: { code?: string | null; message?: string | null }[] | null } | null;
    httpErrorStatusCode?: number | null;
  },
): CloudError | undefined {
  const first = op.error?.errors?.[0];
  if (!op.error || !first) return undefined;
  const code = first.code ?? 'OPERATION_FAILED';
  return new CloudError(`${operation}: ${code}: ${first.message ?? 'the operation failed'}`, {
    operation,
    cloudCode: code,
    notFound: code === 'RESOURCE_NOT_FOUND',
    retryable: code !== 'QUOTA_EXCEEDED',
  });
}

export function hasCloudCode(err: unknown, ...codes: string[]): boolean {
  return err instanceof CloudError && codes.includes(err.cloudCode);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof CloudError && err.notFound;
}

function parseBody(message: string | undefined): GoogleBody | undefined {
  if (!message || !message.trimStart().startsWith('{')) return undefined;
  try {
    return JSON.parse(message) as GoogleBody;
  } catch {
    return undefined;
  }
}
