/**
 * Strategic merge patch, as `k8s.io/apimachinery/pkg/util/strategicpatch` applies it for the
 * built-in kinds served here. Maps merge; a list merges only where the Go type says
 * `patchStrategy:"merge"` (by `patchMergeKey`, or as a set for lists of strings); every other list
 * is replaced. The directives kubectl emits are honoured: `$patch` (replace, delete),
 * `$retainKeys`, `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>`.
 */
import { badRequest } from './errors.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * The merge lists of one kind, by dotted path from the object root (list indices left out):
 * `{ 'spec.ports': { key: 'port' }, 'metadata.finalizers': {} }`. No `key`: a set of scalars.
 */
export type SmpSchema = Record<string, { key?: string }>;

/** Lists every kind merges, through ObjectMeta. */
export const metaSmp: SmpSchema = {
  'metadata.finalizers': {},
  'metadata.ownerReferences': { key: 'uid' },
};

const isObject = (v: unknown): v is Record<string, any> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const DELETE_FROM = '$deleteFromPrimitiveList/';
const ORDER = '$setElementOrder/';

export function strategicMerge(
  original: unknown,
  patch: Record<string, any>,
  schema: SmpSchema,
): unknown {
  return mergeMap(isObject(original) ? structuredClone(original) : {}, patch, '', schema);
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** Strips directives from a value that is being set wholesale. */
function clean(value: unknown): unknown {
  if (Array.isArray(value))
    return value.filter((v) => !(isObject(v) && v.$patch === 'delete')).map(clean);
  if (!isObject(value)) return value;
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(DELETE_FROM) || k.startsWith(ORDER))
      continue;
    if (v !== null) out[k] = clean(v);
  }
  return out;
}

function mergeMap(
  original: Record<string, any>,
  patch: Record<string, any>,
  path: string,
  schema: SmpSchema,
): any {
  const directive = patch.$patch;
  if (directive === 'replace') return clean(patch);
  if (directive === 'delete') return undefined;
  if (directive !== undefined && directive !== 'merge')
    throw badRequest(`unknown patch type: ${directive} in map: ${JSON.stringify(patch)}`);

  if (Array.isArray(patch.$retainKeys)) {
    for (const k of Object.keys(original)) if (!patch.$retainKeys.includes(k)) delete original[k];
  }
  // The live lists, before any directive: the order $setElementOrder interleaves with.
  const live: Record<string, any[]> = {};
  for (const [k, v] of Object.entries(original)) if (Array.isArray(v)) live[k] = v;
  for (const [k, v] of Object.entries(patch)) {
    if (!k.startsWith(DELETE_FROM)) continue;
    const field = k.slice(DELETE_FROM.length);
    if (Array.isArray(original[field]) && Array.isArray(v)) {
      original[field] = original[field].filter((x: unknown) => !v.includes(x));
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(DELETE_FROM) || k.startsWith(ORDER))
      continue;
    const childPath = join(path, k);
    if (v === null) {
      delete original[k];
    } else if (Array.isArray(v) && schema[childPath]) {
      original[k] = mergeList(Array.isArray(original[k]) ? original[k] : [], v, childPath, schema);
    } else if (isObject(v) && isObject(original[k])) {
      const merged = mergeMap(original[k], v, childPath, schema);
      if (merged === undefined) delete original[k];
      else original[k] = merged;
    } else if (isObject(v) && v.$patch === 'delete') {
      delete original[k];
    } else {
      original[k] = clean(v);
    }
  }
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith(ORDER) || !Array.isArray(order)) continue;
    const field = k.slice(ORDER.length);
    const spec = schema[join(path, field)];
    if (Array.isArray(original[field]) && spec) {
      original[field] = enforceOrder(original[field], order, live[field] ?? [], spec.key);
    }
  }
  return original;
}

function mergeList(original: any[], patch: any[], path: string, schema: SmpSchema): any[] {
  const { key } = schema[path]!;
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) {
    return clean(patch.filter((p) => !(isObject(p) && p.$patch === 'replace'))) as any[];
  }
  if (key === undefined) {
    const out = [...original];
    for (const v of patch) if (!out.some((o) => o === v)) out.push(v);
    return enforceOrder(out, patch, original, key);
  }
  let out = [...original];
  for (const item of patch) {
    if (!isObject(item))
      throw badRequest(`merging an object in map but found a non-map value for list "${path}"`);
    if (!(key in item))
      throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const at = out.findIndex((o) => isObject(o) && o[key] === item[key]);
    if (item.$patch === 'delete') {
      out = out.filter((o) => !(isObject(o) && o[key] === item[key]));
    } else if (at >= 0) {
      out[at] = mergeMap(out[at], item, path, schema);
    } else {
      out.push(clean(item));
    }
  }
  return enforceOrder(out, patch, original, key);
}

/**
 * normalizeElementOrder: the items the patch (or its $setElementOrder) names keep the patch's
 * order, the others keep the live order, and the two are interleaved by the live order where
 * both sides were already there.
 */
function enforceOrder(
  merged: any[],
  patchOrder: unknown[],
  serverOrder: any[],
  key: string | undefined,
): any[] {
  const id = (item: any) => (key === undefined ? item : isObject(item) ? item[key] : undefined);
  const patchIds = patchOrder.filter((p) => !(isObject(p) && p.$patch)).map(id);
  const serverIds = serverOrder.map(id);
  const rank = (ids: unknown[]) => (item: any) => {
    const i = ids.indexOf(id(item));
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  const byPatch = rank(patchIds);
  const byServer = rank(serverIds);
  const fromPatch = merged
    .filter((m) => patchIds.includes(id(m)))
    .sort((a, b) => byPatch(a) - byPatch(b));
  const serverOnly = merged
    .filter((m) => !patchIds.includes(id(m)))
    .sort((a, b) => byServer(a) - byServer(b));
  const out: any[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < fromPatch.length) {
    if (j >= fromPatch.length) out.push(serverOnly[i++]);
    else if (i >= serverOnly.length) out.push(fromPatch[j++]);
    else {
      const l = byServer(serverOnly[i]);
      const r = byServer(fromPatch[j]);
      if (l !== Number.MAX_SAFE_INTEGER && r !== Number.MAX_SAFE_INTEGER && l < r)
        out.push(serverOnly[i++]);
      else out.push(fromPatch[j++]);
    }
  }
  return out;
}
