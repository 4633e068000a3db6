/**
 * List, then watch from the list's resourceVersion, keeping a cache of the objects by namespace
 * and name: client-node's `ListWatch`, whose module needs the generated model serializer (for
 * label and field selectors, which kube-lbc does not use), so it is rebuilt here with the same
 * behaviour. A relist deletes what is gone and updates only what changed resourceVersion; a watch
 * that ends cleanly is started again from the last version seen; a 410 (as an error or an ERROR
 * event) relists; any other error stops it and is reported to the `error` handlers.
 */
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Watcher } from './kube-api.js';

type Verb = 'add' | 'update' | 'delete' | 'error' | 'connect';
type Handler<T> = (obj: T) => void;

export class ListWatch<T extends KubernetesObject> {
  #objects = new Map<string, Map<string, T>>();
  readonly #handlers: Record<Verb, ((arg: any) => void)[]> = {
    add: [],
    update: [],
    delete: [],
    error: [],
    connect: [],
  };
  #resourceVersion = '';
  #request: AbortController | undefined;
  #stopped = false;

  constructor(
    readonly path: string,
    private readonly watcher: Watcher,
    private readonly listFn: () => Promise<KubernetesListObject<T>>,
  ) {}

  on(verb: 'add' | 'update' | 'delete', handler: Handler<T>): void;
  on(verb: 'error' | 'connect', handler: (err: unknown) => void): void;
  on(verb: Verb, handler: (arg: any) => void): void {
    this.#handlers[verb].push(handler);
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#done(null);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#objects.get(namespace || '')?.get(name);
  }

  list(): T[] {
    const all: T[] = [];
    for (const byName of this.#objects.values()) all.push(...byName.values());
    return all;
  }

  latestResourceVersion(): string {
    return this.#resourceVersion;
  }

  #abort(): void {
    this.#request?.abort();
    this.#request = undefined;
  }

  async #done(err: unknown): Promise<void> {
    this.#abort();
    const code =
      (err as { statusCode?: number; code?: number } | null)?.statusCode ??
      (err as { code?: number } | null)?.code;
    if (err && code === 410) {
      this.#resourceVersion = '';
    } else if (err) {
      this.#emit('error', err);
      return;
    }
    if (this.#stopped) return;
    this.#emit('connect', undefined);
    if (!this.#resourceVersion) {
      let list: KubernetesListObject<T>;
      try {
        list = await this.listFn();
      } catch (listErr) {
        this.#emit('error', listErr);
        return;
      }
      this.#replace(list.items ?? []);
      this.#resourceVersion = list.metadata?.resourceVersion ?? '';
    }
    this.#request = await this.watcher.watch(
      this.path,
      { resourceVersion: this.#resourceVersion },
      (phase, obj) => this.#onEvent(phase, obj),
      (doneErr) => void this.#done(doneErr),
    );
  }

  #onEvent(phase: string, obj: (T & { code?: number }) | undefined): void {
    switch (phase) {
      case 'ERROR':
        if (obj?.code === 410) this.#resourceVersion = '';
        return;
      case 'ADDED':
      case 'MODIFIED':
        this.#addOrUpdate(obj!);
        break;
      case 'DELETED':
        this.#delete(obj!);
        break;
    }
    this.#resourceVersion = obj?.metadata?.resourceVersion ?? '';
  }

  /** A relist: what is gone is deleted, the rest added or updated. */
  #replace(items: readonly T[]): void {
    const listed = new Map<string, Set<string>>();
    for (const obj of items) {
      const ns = obj.metadata?.namespace || '';
      let names = listed.get(ns);
      if (!names) listed.set(ns, (names = new Set()));
      names.add(obj.metadata?.name || '');
    }
    for (const [ns, byName] of this.#objects) {
      const names = listed.get(ns);
      for (const [name, old] of byName) {
        if (names?.has(name)) continue;
        byName.delete(name);
        this.#emit('delete', old);
      }
      if (byName.size === 0) this.#objects.delete(ns);
    }
    for (const obj of items) this.#addOrUpdate(obj);
  }

  #addOrUpdate(obj: T): void {
    const ns = obj.metadata?.namespace || '';
    let byName = this.#objects.get(ns);
    if (!byName) this.#objects.set(ns, (byName = new Map()));
    const name = obj.metadata?.name || '';
    const found = byName.get(name);
    if (!found) {
      byName.set(name, obj);
      this.#emit('add', obj);
      return;
    }
    const version = found.metadata?.resourceVersion;
    if (version != null && version === obj.metadata?.resourceVersion) return;
    byName.set(name, obj);
    this.#emit('update', obj);
  }

  #delete(obj: T): void {
    const ns = obj.metadata?.namespace || '';
    const byName = this.#objects.get(ns);
    const name = obj.metadata?.name || '';
    if (!byName?.has(name)) return;
    byName.delete(name);
    if (byName.size === 0) this.#objects.delete(ns);
    this.#emit('delete', obj);
  }

  #emit(verb: Verb, arg: unknown): void {
    for (const handler of this.#handlers[verb].slice()) handler(arg);
  }
}
