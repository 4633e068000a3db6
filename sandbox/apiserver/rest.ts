/**
 * The generic registry: get, list, create, update, patch and delete for any resource, in the
 * order kube-apiserver's `genericregistry.Store` runs them (decode and default, preconditions,
 * prepare, validate, allocate, write), with finalizers, optimistic concurrency and no-op writes
 * that leave the resourceVersion alone.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  alreadyExists,
  ApiError,
  badRequest,
  GoLiteral,
  conflict,
  forbiddenField,
  invalid,
  invalidValue,
  methodNotAllowed,
  notFound,
  OBJECT_MODIFIED,
} from './errors.js';
import { AppliedConfigurations, applyAsPatch, isApply, parseApplied } from './apply.js';
import type { NamespaceLifecycle } from './namespaces.js';
import { applyPatch, patchTypeOf } from './patch.js';
import { fieldMatcher, labelMatcher } from './selectors.js';
import { strategicMerge } from './smp.js';
import type { Store } from './store.js';
import { nowTime } from './strategies/time.js';
import {
  apiVersionOf,
  noAllocation,
  storageKeyOf,
  type KObject,
  type ResourceType,
} from './types.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface Target {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  query: URLSearchParams;
}

export interface Reply {
  code: number;
  body: unknown;
}

const gr = (rt: ResourceType) => ({ group: rt.group, resource: rt.resource });
const isObject = (v: unknown): v is Record<string, any> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** Objects out of storage, in the version the request asked for. */
export function present(rt: ResourceType, stored: KObject): KObject {
  const obj = rt.conversion ? rt.conversion.fromStorage(stored) : stored;
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return { kind: rt.kind, apiVersion: apiVersionOf(rt), ...rest } as KObject;
}

export class Rest {
  readonly #store: Store;
  readonly #namespaces: () => NamespaceLifecycle;
  readonly #applied = new AppliedConfigurations();

  constructor(store: Store, namespaces: () => NamespaceLifecycle) {
    this.#store = store;
    this.#namespaces = namespaces;
  }

  #current(t: Target): KObject {
    const obj = this.#store.get(storageKeyOf(t.rt), t.namespace, t.name!);
    if (!obj) throw notFound(gr(t.rt), t.name!);
    return obj;
  }

  get(t: Target): Reply {
    return { code: 200, body: present(t.rt, this.#current(t)) };
  }

  /** Label and field selection over storage-form objects, for list, watch and deletecollection. */
  matcher(t: Target): (obj: KObject) => boolean {
    const labels = labelMatcher(t.query.get('labelSelector') ?? undefined);
    const known = Object.keys(t.rt.strategy.selectableFields({ metadata: {} }));
    const fields = fieldMatcher(
      t.query.get('fieldSelector') ?? undefined,
      known,
      t.rt.conversion?.fieldLabel,
    );
    return (obj) => labels(obj.metadata.labels) && fields(t.rt.strategy.selectableFields(obj));
  }

  list(t: Target): Reply {
    const match = this.matcher(t);
    let items = this.#store.list(storageKeyOf(t.rt), t.namespace).filter(match);
    const rv = String(this.#store.resourceVersion);
    const metadata: Record<string, unknown> = { resourceVersion: rv };
    const cont = t.query.get('continue');
    if (cont) {
      let after: string;
      try {
        after = JSON.parse(Buffer.from(cont, 'base64url').toString()).start;
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > after);
    }
    const limit = Number(t.query.get('limit') ?? 0);
    if (limit > 0 && items.length > limit) {
      const last = items[limit - 1]!;
      metadata.continue = Buffer.from(
        JSON.stringify({
          v: 'meta.k8s.io/v1',
          rv: Number(rv),
          start: `${last.metadata.namespace ?? ''}/${last.metadata.name}`,
        }),
      ).toString('base64url');
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    const body = {
      kind: `${t.rt.kind}List`,
      apiVersion: apiVersionOf(t.rt),
      metadata,
      // List items carry no kind/apiVersion on the wire, as the real server sends them.
      items: items.map((o) => {
        const { kind: _k, apiVersion: _a, ...rest } = present(t.rt, o);
        return rest;
      }),
    };
    return { code: 200, body };
  }

  /** Decodes a body for this resource: type, namespace and defaults. */
  #decode(t: Target, body: unknown): KObject {
    if (!isObject(body)) throw badRequest('the body of the request was not a JSON object');
    const apiVersion = apiVersionOf(t.rt);
    if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) {
      throw badRequest(
        `the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersion})`,
      );
    }
    if (body.kind !== undefined && body.kind !== t.rt.kind) {
      throw badRequest(
        `${body.kind} in version "${t.rt.version}" cannot be handled as a ${t.rt.kind}: the kind in the data does not match ${t.rt.kind}`,
      );
    }
    const obj = structuredClone(body) as KObject;
    if (!isObject(obj.metadata)) obj.metadata = {};
    if (t.rt.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== t.namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      obj.metadata.namespace = t.namespace;
    } else {
      delete obj.metadata.namespace;
    }
    const stored = t.rt.conversion ? t.rt.conversion.toStorage(obj) : obj;
    stored.apiVersion = t.rt.conversion?.storageVersion ?? apiVersion;
    stored.kind = t.rt.kind;
    t.rt.strategy.defaults?.(stored);
    return stored;
  }

  #invalid(t: Target, name: string, errs: Parameters<typeof invalid>[2]): ApiError {
    return invalid({ group: t.rt.internalGroup ?? t.rt.group, kind: t.rt.kind }, name, errs);
  }

  create(t: Target, body: unknown, dryRun = false): Reply {
    if (t.name && !t.subresource) throw methodNotAllowed();
    const obj = this.#decode(t, body);
    return this.#create(t, obj, dryRun);
  }

  #create(t: Target, obj: KObject, dryRun: boolean): Reply {
    const { rt } = t;
    const meta = obj.metadata;
    if (meta.resourceVersion) {
      throw new ApiError(
        500,
        undefined,
        'resourceVersion should not be set on objects to be created',
      );
    }
    if (!meta.name && meta.generateName) {
      meta.name =
        meta.generateName +
        Array.from(
          { length: 5 },
          () => NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)],
        ).join('');
    }
    if (rt.namespaced && t.namespace)
      this.#namespaces().admitCreate(rt, t.namespace, meta.name ?? '');
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    rt.strategy.prepareForCreate?.(obj);
    meta.uid = randomUUID();
    meta.creationTimestamp = nowTime();
    const errs = rt.strategy.validate?.(obj) ?? [];
    if (errs.length) throw this.#invalid(t, meta.name ?? '', errs);
    const allocation = rt.strategy.allocateCreate?.(obj) ?? noAllocation;
    if (this.#store.get(storageKeyOf(rt), meta.namespace, meta.name!)) {
      allocation.revert();
      throw alreadyExists(gr(rt), meta.name!);
    }
    if (dryRun) {
      allocation.revert();
      return { code: 201, body: present(rt, obj) };
    }
    const stored = this.#store.create(storageKeyOf(rt), obj);
    allocation.commit();
    return { code: 201, body: present(rt, stored) };
  }

  update(t: Target, body: unknown, dryRun = false): Reply {
    const obj = this.#decode(t, body);
    if (obj.metadata.name !== t.name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${t.name})`,
      );
    }
    const old = this.#store.get(storageKeyOf(t.rt), t.namespace, t.name!);
    if (!old) {
      if (t.subresource || !t.rt.strategy.allowCreateOnUpdate) throw notFound(gr(t.rt), t.name!);
      delete obj.metadata.resourceVersion;
      return this.#create(t, obj, dryRun);
    }
    if (!obj.metadata.resourceVersion && !t.rt.strategy.allowUnconditionalUpdate) {
      throw invalid({ group: t.rt.group, kind: t.rt.resource }, t.name!, [
        invalidValue(
          'metadata.resourceVersion',
          new GoLiteral('0x0'),
          'must be specified for an update',
        ),
      ]);
    }
    return this.#update(t, obj, old, dryRun);
  }

  patch(t: Target, contentType: string | undefined, raw: string, dryRun = false): Reply {
    if (isApply(contentType)) return this.#apply(t, raw, dryRun);
    const type = patchTypeOf(contentType);
    const old = this.#current(t);
    const patched = applyPatch(present(t.rt, old), type, raw, t.rt.smp);
    if (patched.metadata.name !== t.name) {
      throw badRequest(
        `the name of the object (${patched.metadata.name ?? ''}) does not match the name on the URL (${t.name})`,
      );
    }
    return this.#update(t, this.#decode(t, patched), old, dryRun);
  }

  /** Server-side apply, simplified as apply.ts says; a missing object is created. */
  #apply(t: Target, raw: string, dryRun: boolean): Reply {
    const manager = t.query.get('fieldManager');
    const applied = parseApplied(raw, manager);
    if ((applied.metadata.name ?? t.name) !== t.name)
      throw badRequest(
        `the name of the object (${applied.metadata.name}) does not match the name on the URL (${t.name})`,
      );
    const old = this.#store.get(storageKeyOf(t.rt), t.namespace, t.name!);
    let reply: Reply;
    if (!old) {
      if (t.subresource) throw notFound(gr(t.rt), t.name!);
      const body = { ...applied, metadata: { ...applied.metadata, name: t.name } };
      reply = this.#create(t, this.#decode(t, body), dryRun);
    } else {
      const patch = applyAsPatch(this.#applied.get(old.metadata.uid, manager!), applied, t.rt.smp);
      const patched = strategicMerge(present(t.rt, old), patch, t.rt.smp) as KObject;
      reply = this.#update(t, this.#decode(t, patched), old, dryRun);
    }
    if (!dryRun) this.#applied.set((reply.body as KObject).metadata.uid, manager!, applied);
    return reply;
  }

  #update(t: Target, decoded: KObject, old: KObject, dryRun: boolean): Reply {
    const { rt } = t;
    const key = storageKeyOf(rt);
    const meta = decoded.metadata;
    if (meta.resourceVersion && meta.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(gr(rt), t.name!, OBJECT_MODIFIED);
    }
    const status = t.subresource === 'status';
    meta.resourceVersion = old.metadata.resourceVersion;
    if (old.metadata.generation === undefined) delete meta.generation;
    else meta.generation = old.metadata.generation;
    meta.uid ||= old.metadata.uid;
    meta.creationTimestamp = old.metadata.creationTimestamp;
    if (old.metadata.deletionTimestamp) {
      meta.deletionTimestamp = old.metadata.deletionTimestamp;
      meta.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    if (status) rt.strategy.prepareForStatusUpdate?.(decoded, old);
    else rt.strategy.prepareForUpdate?.(decoded, old);
    const validate = status ? rt.strategy.validateStatusUpdate : rt.strategy.validateUpdate;
    const errs = validate ? validate(decoded, old) : [];
    if (old.metadata.deletionTimestamp) {
      const added = (meta.finalizers ?? []).filter(
        (f) => !(old.metadata.finalizers ?? []).includes(f),
      );
      if (added.length) {
        errs.push(
          forbiddenField(
            'metadata.finalizers',
            `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
          ),
        );
      }
    }
    if (errs.length) throw this.#invalid(t, t.name!, errs);
    const allocation = (!status && rt.strategy.allocateUpdate?.(decoded, old)) || noAllocation;
    // Compared as JSON, so a hook that left a field `undefined` does not count as a change.
    const obj = JSON.parse(JSON.stringify(decoded)) as KObject;
    if (isDeepStrictEqual(obj, old)) {
      allocation.revert();
      return { code: 200, body: present(rt, old) };
    }
    if (dryRun) {
      allocation.revert();
      return { code: 200, body: present(rt, obj) };
    }
    if (obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).length === 0) {
      // As the real store does, the emptying write is not stored (watchers see the object as it
      // last was go), but the writer gets back the object as its write made it.
      allocation.revert();
      this.#remove(rt, old);
      return { code: 200, body: present(rt, obj) };
    }
    const stored = this.#store.update(key, obj);
    allocation.commit();
    return { code: 200, body: present(rt, stored) };
  }

  /** Takes an object out of storage and frees what it held. */
  #remove(rt: ResourceType, obj: KObject): KObject {
    const gone = this.#store.delete(storageKeyOf(rt), obj);
    rt.strategy.release?.(gone);
    if (rt.namespaced && gone.metadata.namespace)
      this.#namespaces().contentRemoved(gone.metadata.namespace);
    return gone;
  }

  delete(t: Target, options: unknown, dryRun = false): Reply {
    const old = this.#current(t);
    const pre = isObject(options) && isObject(options.preconditions) ? options.preconditions : {};
    if (pre.uid && pre.uid !== old.metadata.uid) {
      throw conflict(
        gr(t.rt),
        t.name!,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    }
    if (pre.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(
        gr(t.rt),
        t.name!,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
      );
    }
    if (dryRun) return { code: 200, body: present(t.rt, old) };
    if (t.rt.resource === 'namespaces' && !t.rt.group)
      return { code: 200, body: present(t.rt, this.#namespaces().delete(old)) };
    return this.deleteObject(t.rt, old);
  }

  /** DELETE on one object, also used by the namespace controller. */
  deleteObject(rt: ResourceType, old: KObject): Reply {
    if (old.metadata.deletionTimestamp) return { code: 200, body: present(rt, old) };
    if ((old.metadata.finalizers ?? []).length > 0) {
      const marked = structuredClone(old);
      marked.metadata.deletionTimestamp = nowTime();
      marked.metadata.deletionGracePeriodSeconds = 0;
      return { code: 200, body: present(rt, this.#store.update(storageKeyOf(rt), marked)) };
    }
    const gone = this.#remove(rt, old);
    if (rt.returnDeletedObject) return { code: 200, body: present(rt, gone) };
    const details = {
      name: gone.metadata.name,
      ...(rt.group ? { group: rt.group } : {}),
      kind: rt.resource,
      uid: gone.metadata.uid,
    };
    return {
      code: 200,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details },
    };
  }

  deleteCollection(t: Target, dryRun = false): Reply {
    const match = this.matcher(t);
    const items: KObject[] = [];
    for (const obj of this.#store.list(storageKeyOf(t.rt), t.namespace).filter(match)) {
      if (!dryRun) this.deleteObject(t.rt, obj);
      const { kind: _k, apiVersion: _a, ...rest } = present(t.rt, obj);
      items.push(rest as KObject);
    }
    return {
      code: 200,
      body: {
        kind: `${t.rt.kind}List`,
        apiVersion: apiVersionOf(t.rt),
        metadata: { resourceVersion: String(this.#store.resourceVersion) },
        items,
      },
    };
  }
}
