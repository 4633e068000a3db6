/**
 * Namespace lifecycle: the NamespaceLifecycle admission plugin (no content in a missing or
 * terminating namespace; the system namespaces cannot be deleted) and the namespace controller
 * (a deleted namespace turns Terminating; a moment later its content is deleted, and once it is
 * empty the `kubernetes` spec finalizer is removed and the namespace goes).
 */
import { forbidden, namespaceTerminating, notFound } from './errors.js';
import { nowTime } from './strategies/time.js';
import type { Store } from './store.js';
import { storageKeyOf, type KObject, type ResourceType } from './types.js';

const NAMESPACES = { group: '', resource: 'namespaces' };
const UNDELETABLE = ['default', 'kube-system', 'kube-public'];
export const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export class NamespaceLifecycle {
  readonly #store: Store;
  readonly #contentTypes: () => ResourceType[];
  /** Deletes one object as a client's DELETE would (finalizers honoured). */
  readonly #deleteObject: (rt: ResourceType, obj: KObject) => void;
  /** How long the controller takes to react: the time a namespace shows Terminating at least. */
  readonly #syncDelayMs: number;
  readonly #pending = new Map<string, NodeJS.Timeout>();

  constructor(
    store: Store,
    contentTypes: () => ResourceType[],
    deleteObject: (rt: ResourceType, obj: KObject) => void,
    syncDelayMs: number,
  ) {
    this.#syncDelayMs = syncDelayMs;
    this.#store = store;
    this.#contentTypes = contentTypes;
    this.#deleteObject = deleteObject;
  }

  /** Refuses a create into a namespace that is missing or going away. */
  admitCreate(rt: ResourceType, namespace: string, name: string): void {
    const ns = this.#store.get('/namespaces', undefined, namespace);
    if (!ns) throw notFound(NAMESPACES, namespace);
    if (ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating')
      throw namespaceTerminating({ group: rt.group, resource: rt.resource }, name, namespace);
  }

  /**
   * DELETE on a namespace: mark it Terminating (no grace period, unlike other kinds) and leave the
   * rest to the controller, which runs a moment later as in a real cluster.
   */
  delete(ns: KObject): KObject {
    const name = ns.metadata.name!;
    if (UNDELETABLE.includes(name))
      throw forbidden(NAMESPACES, name, 'this namespace may not be deleted');
    if (ns.metadata.deletionTimestamp) return ns;
    const terminating = structuredClone(ns);
    terminating.metadata.deletionTimestamp = nowTime();
    terminating.status = { ...terminating.status, phase: 'Terminating' };
    const stored = this.#store.update('/namespaces', terminating);
    this.#schedule(name);
    return stored;
  }

  /** Called whenever a namespaced object goes: a Terminating namespace left empty is synced again. */
  contentRemoved(namespace: string): void {
    const ns = this.#store.get('/namespaces', undefined, namespace);
    if (ns?.metadata.deletionTimestamp && this.#isEmpty(namespace)) this.#schedule(namespace);
  }

  /** Stops the controller's pending syncs (the server is closing). */
  close(): void {
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
  }

  #schedule(namespace: string): void {
    if (this.#pending.has(namespace)) return;
    const timer = setTimeout(() => {
      this.#pending.delete(namespace);
      this.#sync(namespace);
    }, this.#syncDelayMs);
    timer.unref();
    this.#pending.set(namespace, timer);
  }

  /** The namespace controller's pass: delete the content, then finalize and remove once empty. */
  #sync(namespace: string): void {
    const ns = this.#store.get('/namespaces', undefined, namespace);
    if (!ns?.metadata.deletionTimestamp) return;
    for (const rt of this.#contentTypes()) {
      for (const obj of this.#store.list(storageKeyOf(rt), namespace)) {
        if (!obj.metadata.deletionTimestamp) this.#deleteObject(rt, obj);
      }
    }
    // Content held by finalizers calls contentRemoved when it finally goes.
    if (!this.#isEmpty(namespace)) return;
    const current = this.#store.get('/namespaces', undefined, namespace)!;
    let finalized = current;
    if ((current.spec?.finalizers ?? []).length > 0) {
      const next = structuredClone(current);
      next.spec = { ...next.spec, finalizers: [] };
      finalized = this.#store.update('/namespaces', next);
    }
    // Another finalizer in metadata holds the namespace until its owner removes it.
    if ((finalized.metadata.finalizers ?? []).length === 0)
      this.#store.delete('/namespaces', finalized);
  }

  #isEmpty(namespace: string): boolean {
    const seen = new Set<string>();
    for (const rt of this.#contentTypes()) {
      const key = storageKeyOf(rt);
      if (seen.has(key)) continue;
      seen.add(key);
      if (this.#store.count(key, namespace) > 0) return false;
    }
    return true;
  }
}
