/**
 * The three patch types kube-apiserver accepts, applied to an object's JSON. A malformed patch
 * is a 400; a well-formed one that does not apply (a failed `test`, a missing path) is a 422, as
 * the real server answers.
 */
import { isDeepStrictEqual } from 'node:util';
import { ApiError, badRequest, unsupportedMediaType } from './errors.js';
import { strategicMerge, type SmpSchema } from './smp.js';
import type { KObject } from './types.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
] as const;
export type PatchType = (typeof PATCH_TYPES)[number];

export function patchTypeOf(contentType: string | undefined): PatchType {
  const base = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if ((PATCH_TYPES as readonly string[]).includes(base)) return base as PatchType;
  throw unsupportedMediaType(base || '(none)');
}

const isObject = (v: unknown): v is Record<string, any> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const unprocessable = (message: string) => new ApiError(422, 'Invalid', message);

export function applyPatch(
  original: KObject,
  type: PatchType,
  body: string,
  smp: SmpSchema,
): KObject {
  let patch: unknown;
  try {
    patch = JSON.parse(body);
  } catch (err) {
    throw badRequest(`error decoding patch: ${(err as Error).message}`);
  }
  let result: unknown;
  switch (type) {
    case 'application/json-patch+json':
      result = jsonPatch(original, patch);
      break;
    case 'application/merge-patch+json':
      result = mergePatch(original, patch);
      break;
    case 'application/strategic-merge-patch+json':
      if (!isObject(patch))
        throw badRequest('error decoding patch: a strategic merge patch must be a JSON object');
      result = strategicMerge(original, patch, smp);
      break;
  }
  if (!isObject(result) || !isObject(result.metadata)) {
    throw badRequest('the patched object is not a valid object: metadata is missing');
  }
  return result as KObject;
}

/** RFC 7386: objects merge, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, any> = isObject(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface Operation {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`invalid JSON pointer: "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: unknown[], token: string, forAdd: boolean): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw unprocessable(`invalid array index: ${token}`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length))
    throw unprocessable(`array index out of bounds: ${token}`);
  return i;
}

/** Walks to the container of the last token, so the operation can act on it. */
function parentOf(doc: unknown, tokens: string[], path: string): { parent: any; key: string } {
  let cur: any = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false)];
    else if (isObject(cur) && t in cur) cur = cur[t];
    else throw unprocessable(`doc is missing path: "${path}": missing value`);
  }
  if (!Array.isArray(cur) && !isObject(cur))
    throw unprocessable(`doc is missing path: "${path}": missing value`);
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

function getAt(doc: unknown, path: string): unknown {
  let cur: any = doc;
  for (const t of parsePointer(path)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false)];
    else if (isObject(cur) && t in cur) cur = cur[t];
    else throw unprocessable(`doc is missing path: "${path}": missing value`);
  }
  return cur;
}

function addAt(doc: unknown, path: string, value: unknown): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return structuredClone(value);
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent))
    parent.splice(arrayIndex(parent, key, true), 0, structuredClone(value));
  else parent[key] = structuredClone(value);
  return doc;
}

function removeAt(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false), 1);
  else if (key in parent) delete parent[key];
  else throw unprocessable(`remove operation does not apply: doc is missing path: "${path}"`);
  return doc;
}

/** RFC 6902, with evanphx/json-patch's messages for the failures clients see most. */
export function jsonPatch(original: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch))
    throw badRequest(
      'error decoding patch: json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
  let doc: unknown = structuredClone(original);
  for (const raw of patch as Operation[]) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest('error decoding patch: every operation needs "op" and "path"');
    }
    switch (raw.op) {
      case 'add':
        doc = addAt(doc, raw.path, raw.value);
        break;
      case 'remove':
        doc = removeAt(doc, raw.path);
        break;
      case 'replace': {
        getAt(doc, raw.path);
        const tokens = parsePointer(raw.path);
        if (tokens.length === 0) doc = structuredClone(raw.value);
        else {
          const { parent, key } = parentOf(doc, tokens, raw.path);
          if (Array.isArray(parent))
            parent[arrayIndex(parent, key, false)] = structuredClone(raw.value);
          else parent[key] = structuredClone(raw.value);
        }
        break;
      }
      case 'move': {
        const value = getAt(doc, raw.from ?? '');
        doc = addAt(removeAt(doc, raw.from ?? ''), raw.path, value);
        break;
      }
      case 'copy':
        doc = addAt(doc, raw.path, getAt(doc, raw.from ?? ''));
        break;
      case 'test': {
        let actual: unknown;
        try {
          actual = getAt(doc, raw.path);
        } catch {
          actual = undefined;
        }
        if (
          !isDeepStrictEqual(actual, raw.value ?? null) &&
          !(actual === undefined && raw.value === null)
        ) {
          throw unprocessable(`testing value ${raw.path} failed: test failed`);
        }
        break;
      }
      default:
        throw badRequest(`Unexpected kind: ${raw.op}`);
    }
  }
  return doc;
}
