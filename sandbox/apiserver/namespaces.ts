/**
 * Namespace lifecycle: the NamespaceLifecycle admission plugin (no content in a missing or
 * terminating namespace; the system namespaces cannot be deleted) and the namespace controller
 * (a deleted namespace turns Terminating, its content is deleted, and it goes once empty).
 */
import { forbidden, notFound } from './errors.js';
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

  constructor(
    store: Store,
    contentTypes: () => ResourceType[],
    deleteObject: (rt: ResourceType, obj: KObject) => void,
  ) {
    this.#store = store;
    this.#contentTypes = contentTypes;
    this.#deleteObject = deleteObject;
  }

  /** Refuses a create into a namespace that is missing or going away. */
  admitCreate(rt: ResourceType, namespace: string, name: string): void {
    const ns = this.#store.get('/namespaces', undefined, namespace);
    if (!ns) throw notFound(NAMESPACES, namespace);
    if (ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') {
      throw forbidden(
        { group: rt.group, resource: rt.resource },
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  /** DELETE on a namespace: mark it Terminating and clear it out, asynchronously like the controller. */
  delete(ns: KObject): KObject {
    const name = ns.metadata.name!;
    if (UNDELETABLE.includes(name))
      throw forbidden(NAMESPACES, name, 'this namespace may not be deleted');
    if (ns.metadata.deletionTimestamp) return ns;
    const terminating = structuredClone(ns);
    terminating.metadata.deletionTimestamp = nowTime();
    terminating.metadata.deletionGracePeriodSeconds = 0;
    terminating.status = { ...terminating.status, phase: 'Terminating' };
    const stored = this.#store.update('/namespaces', terminating, ns);
    setImmediate(() => this.#drain(name));
    return stored;
  }

  #drain(namespace: string): void {
    for (const rt of this.#contentTypes()) {
      for (const obj of this.#store.list(storageKeyOf(rt), namespace)) {
        if (!obj.metadata.deletionTimestamp) this.#deleteObject(rt, obj);
      }
    }
    this.contentRemoved(namespace);
  }

  /** Called whenever a namespaced object goes: a Terminating namespace left empty goes too. */
  contentRemoved(namespace: string): void {
    const ns = this.#store.get('/namespaces', undefined, namespace);
    if (!ns?.metadata.deletionTimestamp) return;
    const seen = new Set<string>();
    for (const rt of this.#contentTypes()) {
      const key = storageKeyOf(rt);
      if (seen.has(key)) continue;
      seen.add(key);
      if (this.#store.count(key, namespace) > 0) return;
    }
    if ((ns.metadata.finalizers ?? []).length > 0) {
      if ((ns.spec?.finalizers ?? []).length === 0) return;
      const finalized = structuredClone(ns);
      finalized.spec = { ...finalized.spec, finalizers: [] };
      this.#store.update('/namespaces', finalized, ns);
      return;
    }
    this.#store.delete('/namespaces', ns);
  }
}
