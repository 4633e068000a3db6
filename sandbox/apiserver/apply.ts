/**
 * Server-side apply (`application/apply-patch+yaml`), simplified. The real server tracks which
 * manager owns each field (managedFields) and refuses, as a 409 Conflict, an apply that would
 * change a field another manager owns unless `force=true`. Here:
 * - each manager's last applied configuration is remembered per object (by uid), off the object:
 *   no managedFields are written, and there are no conflicts (`force` is accepted and ignored);
 * - an apply sets every field it names; a field this manager applied before and now leaves out
 *   is removed (for keyed lists, the item with that key; for lists of strings, that value);
 *   fields it never applied, set by other writers, stay as they are;
 * - lists merge by the kind's strategic-merge keys (`spec.ports` by port, conditions by type),
 *   where the real server uses the OpenAPI list-map keys (port and protocol).
 * An apply to a missing object creates it.
 */
import { parse as parseYaml } from 'yaml';
import { badRequest } from './errors.js';
import type { SmpSchema } from './smp.js';
import type { KObject } from './types.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export const APPLY_PATCH = 'application/apply-patch+yaml';

const isObject = (v: unknown): v is Record<string, any> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

export const isApply = (contentType: string | undefined) =>
  (contentType ?? '').split(';')[0]!.trim().toLowerCase() === APPLY_PATCH;

/** The body of an apply: a whole object in YAML (or JSON, which is YAML) with apiVersion and kind. */
export function parseApplied(raw: string, fieldManager: string | null): KObject {
  if (!fieldManager)
    throw badRequest('PATCH, application/apply-patch+yaml requires fieldManager to be set');
  let body: unknown;
  try {
    body = parseYaml(raw);
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
  if (!isObject(body)) throw badRequest('error decoding YAML: the body is not an object');
  if (!body.apiVersion || !body.kind)
    throw badRequest('invalid object type: apply requires apiVersion and kind');
  body.metadata = isObject(body.metadata) ? body.metadata : {};
  return body as KObject;
}

/**
 * A strategic merge patch that applies `applied` over the live object and takes back what the
 * same manager's `previous` apply set but this one leaves out.
 */
export function applyAsPatch(
  previous: KObject | undefined,
  applied: KObject,
  schema: SmpSchema,
): Record<string, any> {
  return withRemovals(previous ?? {}, structuredClone(applied), '', schema);
}

function withRemovals(
  previous: Record<string, any>,
  patch: Record<string, any>,
  path: string,
  schema: SmpSchema,
): Record<string, any> {
  for (const [key, before] of Object.entries(previous)) {
    const here = join(path, key);
    // A map or merge list left out entirely loses only the entries this manager had in it.
    if (patch[key] === undefined) {
      if (isObject(before)) patch[key] = {};
      else if (Array.isArray(before) && schema[here]) patch[key] = [];
      else patch[key] = null;
    }
    const now = patch[key];
    if (now === null) continue;
    if (isObject(before) && isObject(now)) {
      withRemovals(before, now, here, schema);
    } else if (Array.isArray(before) && Array.isArray(now) && schema[here]) {
      const mergeKey = schema[here].key;
      if (mergeKey) {
        const kept = new Set(now.map((item) => item?.[mergeKey]));
        for (const item of before)
          if (isObject(item) && !kept.has(item[mergeKey]))
            now.push({ [mergeKey]: item[mergeKey], $patch: 'delete' });
      } else {
        const gone = before.filter((v) => !now.includes(v));
        if (gone.length) patch[`$deleteFromPrimitiveList/${key}`] = gone;
      }
    }
  }
  return patch;
}

/** Each manager's last apply to each object, by `uid/manager`. */
export class AppliedConfigurations {
  readonly #last = new Map<string, KObject>();

  get(uid: string | undefined, manager: string): KObject | undefined {
    return this.#last.get(`${uid}/${manager}`);
  }

  set(uid: string | undefined, manager: string, applied: KObject): void {
    if (uid) this.#last.set(`${uid}/${manager}`, structuredClone(applied));
  }
}
