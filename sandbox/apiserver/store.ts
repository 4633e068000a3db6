/**
 * Storage with etcd's versioning: one global, increasing resourceVersion stamped on every write
 * (deletes included), and per resource a window of recent events, as the watch cache keeps, so a
 * watch can resume from a version; a version older than the window is "too old" (410).
 */
import type { KObject } from './types.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  /** The object after the change; for DELETED, the last state stamped with the delete's version. */
  object: KObject;
  /** The object before the change (MODIFIED, DELETED): selectors need both sides. */
  prev?: KObject;
  rv: number;
}

export type Listener = (event: StoreEvent) => void;

class Table {
  readonly objects = new Map<string, KObject>();
  readonly window: StoreEvent[] = [];
  /** Every event with a resourceVersion above this one is still in the window. */
  horizon = 0;
  readonly listeners = new Set<Listener>();
}

export const objectKey = (namespace: string | undefined, name: string) =>
  namespace ? `${namespace}/${name}` : name;

export class Store {
  #rv = 0;
  readonly #tables = new Map<string, Table>();
  readonly #window: number;

  /** @param watchWindow events kept per resource for watches that resume from a version */
  constructor(watchWindow: number) {
    this.#window = watchWindow;
  }

  /** The newest resourceVersion: what a list reports. */
  get resourceVersion(): number {
    return this.#rv;
  }

  #table(resource: string): Table {
    let t = this.#tables.get(resource);
    if (!t) {
      t = new Table();
      t.horizon = this.#rv;
      this.#tables.set(resource, t);
    }
    return t;
  }

  get(resource: string, namespace: string | undefined, name: string): KObject | undefined {
    const obj = this.#table(resource).objects.get(objectKey(namespace, name));
    return obj && structuredClone(obj);
  }

  /** Objects in key order (namespace, then name), as etcd returns them. */
  list(resource: string, namespace?: string): KObject[] {
    const t = this.#table(resource);
    const out: KObject[] = [];
    for (const [key, obj] of [...t.objects].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (namespace === undefined || key.startsWith(`${namespace}/`))
        out.push(structuredClone(obj));
    }
    return out;
  }

  count(resource: string, namespace?: string): number {
    if (namespace === undefined) return this.#table(resource).objects.size;
    let n = 0;
    for (const key of this.#table(resource).objects.keys())
      if (key.startsWith(`${namespace}/`)) n++;
    return n;
  }

  create(resource: string, obj: KObject): KObject {
    return this.#write(resource, 'ADDED', obj);
  }

  update(resource: string, obj: KObject): KObject {
    return this.#write(resource, 'MODIFIED', obj);
  }

  /** Removes the stored object `obj` names, recording `obj` as its last state. */
  delete(resource: string, obj: KObject): KObject {
    return this.#write(resource, 'DELETED', obj);
  }

  #write(resource: string, type: EventType, obj: KObject): KObject {
    const t = this.#table(resource);
    // A JSON round trip, so what is stored is exactly what the wire would carry (no `undefined`s).
    const stored = JSON.parse(JSON.stringify(obj)) as KObject;
    const rv = ++this.#rv;
    stored.metadata.resourceVersion = String(rv);
    const key = objectKey(stored.metadata.namespace, stored.metadata.name!);
    // Stored objects are never mutated, so the one being replaced can be the event's `prev` as is.
    const prev = t.objects.get(key);
    if (type === 'DELETED') t.objects.delete(key);
    else t.objects.set(key, stored);
    const event: StoreEvent = { type, object: stored, prev, rv };
    t.window.push(event);
    if (t.window.length > this.#window) t.horizon = t.window.shift()!.rv;
    for (const listener of [...t.listeners]) listener(event);
    return structuredClone(stored);
  }

  /** Events after `rv`, or undefined when some of them have left the window. */
  eventsSince(resource: string, rv: number): StoreEvent[] | undefined {
    const t = this.#table(resource);
    if (rv < t.horizon) return undefined;
    return t.window.filter((e) => e.rv > rv);
  }

  /** The oldest version a watch may still resume from. */
  horizon(resource: string): number {
    return this.#table(resource).horizon;
  }

  subscribe(resource: string, listener: Listener): () => void {
    const t = this.#table(resource);
    t.listeners.add(listener);
    return () => t.listeners.delete(listener);
  }
}
