/**
 * Reading Kubernetes API errors, in one place: the HTTP status of a client-node `ApiException`
 * found anywhere in the cause chain (callers wrap errors as `new Error('...', { cause })`).
 */
// Alone, not through the package's index: that loads the whole generated API (see kube-api.ts).
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
import { findCause } from '../contract/errors.js';

/** The API server's HTTP status for `err`, if an API answer is behind it. */
export function apiStatus(err: unknown): number | undefined {
  return findCause(err, ApiException)?.code;
}

/** 404: the object (or its namespace) does not exist. */
export function isNotFound(err: unknown): boolean {
  return apiStatus(err) === 404;
}

/** 409: someone else wrote first (a stale resourceVersion), or the object already exists. */
export function isConflict(err: unknown): boolean {
  return apiStatus(err) === 409;
}

/** 422: the server refused the object as invalid (a NodePort already allocated, say). */
export function isInvalid(err: unknown): boolean {
  return apiStatus(err) === 422;
}

/** What a call stopped by its caller fails with, as fetch names it: the HTTP clients share it. */
export function abortError(): Error {
  const err = new Error('The user aborted a request.');
  err.name = 'AbortError';
  return err;
}
