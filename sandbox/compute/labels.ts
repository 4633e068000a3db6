/**
 * Labels, on the emulated resources that carry them in Compute Engine (addresses and forwarding
 * rules; backend services, health checks and firewalls have none): given at insert, changed only
 * by `setLabels`, which must carry the current `labelFingerprint` (412 `conditionNotMet`
 * otherwise). A read shows `labelFingerprint` always and `labels` only when there are some, as
 * GCE answers. Simplified: keys and values are checked against the ASCII part of GCE's rules.
 */
import type { Collection } from './collection.js';
import { ComputeError, invalidField } from './errors.js';
import type { ComputeState, Resource } from './state.js';

const keyPattern = /^[a-z][-_a-z0-9]{0,62}$/;
const valuePattern = /^[-_a-z0-9]{0,63}$/;
const maxLabels = 64;

/** The labels of an insert body, checked, with a fresh fingerprint. */
export function insertLabels(state: ComputeState, body: Record<string, unknown>): Resource {
  const labels = checkLabels('resource.labels', body.labels);
  return {
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    labelFingerprint: state.fingerprint(),
  } as unknown as Resource;
}

/** `POST .../{resource}/setLabels` with `{ labels, labelFingerprint }`: replaces every label. */
export const setLabels: NonNullable<Collection['verbs']>[string] = {
  write: true,
  run(state, _scope, item, body) {
    if (body.labelFingerprint !== item.labelFingerprint) {
      throw new ComputeError(
        412,
        'conditionNotMet',
        'Labels fingerprint either invalid or resource labels have changed',
      );
    }
    const labels = checkLabels('labels', body.labels);
    if (Object.keys(labels).length > 0) item.labels = labels;
    else delete item.labels;
    item.labelFingerprint = state.fingerprint();
  },
};

function checkLabels(field: string, value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw invalidField(field, value, 'Must be a map of strings.');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > maxLabels)
    throw invalidField(field, value, `At most ${maxLabels} labels are allowed.`);
  for (const [k, v] of entries) {
    if (!keyPattern.test(k))
      throw invalidField(
        `${field}.key`,
        k,
        'A label key starts with a lowercase letter and has at most 63 lowercase letters, digits, - and _.',
      );
    if (typeof v !== 'string' || !valuePattern.test(v))
      throw invalidField(
        `${field}.value`,
        v,
        'A label value has at most 63 lowercase letters, digits, - and _.',
      );
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
