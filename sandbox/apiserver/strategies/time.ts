/**
 * The two timestamp encodings of the API. metav1.Time is RFC 3339 in whole seconds (fractions are
 * accepted and dropped); metav1.MicroTime must carry exactly six fraction digits, so a plain
 * `Date` serialized by client-node (three digits) is refused where `V1MicroTime` is accepted.
 */
import { badRequest } from '../errors.js';

const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

export function checkMicroTime(kind: string, version: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string' || !MICRO.test(value)) {
    throw badRequest(
      `${kind} in version "${version.split('/').pop()}" cannot be handled as a ${kind}: parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse as RFC3339 with microseconds`,
    );
  }
}

/** What the server writes for "now" in a metav1.Time field. */
export const nowTime = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
