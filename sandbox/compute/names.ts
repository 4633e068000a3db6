/**
 * GCE resource names (RFC 1035): a lowercase letter, then lowercase letters, digits and hyphens,
 * not ending in a hyphen, at most 63 characters.
 */
import { invalidField } from './errors.js';

export const namePattern = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

export function checkName(name: unknown, field = 'resource.name'): string {
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw invalidField(
      field,
      name ?? '',
      "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'",
    );
  }
  return name;
}
