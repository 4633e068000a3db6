/**
 * The emulator's resources: one map per scope and collection, numeric IDs, selfLinks on the
 * real API root, fingerprints, and references resolved the way GCE accepts them (a full URL or a
 * partial path from `projects/` or from the scope).
 */
import { notFound } from './errors.js';

/** selfLinks point at the public API root, whatever address the emulator listens on, as GCE's do. */
export const apiRoot = 'https://www.googleapis.com/compute/v1/';

export type ScopeKind = 'regions' | 'zones' | 'global';

export interface Scope {
  readonly kind: ScopeKind;
  /** The region or zone; '' for global. */
  readonly name: string;
}

export type Resource = Record<string, unknown> & { name: string; selfLink: string; id: string };

export interface StateOptions {
  readonly project: string;
  readonly region: string;
  /** Zones of the region. @default [`${region}-a`, `${region}-b`, `${region}-c`] */
  readonly zones?: readonly string[];
}

export class ComputeState {
  readonly project: string;
  readonly region: string;
  readonly zones: readonly string[];
  /** Per-collection limits on resources in one scope (QUOTA_EXCEEDED past them). */
  readonly quotas = new Map<string, number>();
  readonly #items = new Map<string, Map<string, Resource>>();
  #ids = 1000000000000000000n;
  #fingerprints = 0;

  constructor(options: StateOptions) {
    this.project = options.project;
    this.region = options.region;
    this.zones = options.zones ?? ['a', 'b', 'c'].map((z) => `${options.region}-${z}`);
  }

  scopePath(scope: Scope): string {
    return scope.kind === 'global' ? 'global' : `${scope.kind}/${scope.name}`;
  }

  /** `projects/<p>/<scope>/<collection>/<name>`: the key references are compared by. */
  path(scope: Scope, collection: string, name?: string): string {
    const base = `projects/${this.project}/${this.scopePath(scope)}/${collection}`;
    return name === undefined ? base : `${base}/${name}`;
  }

  link(scope: Scope, collection: string, name?: string): string {
    return apiRoot + this.path(scope, collection, name);
  }

  scopeLink(scope: Scope): string | undefined {
    return scope.kind === 'global'
      ? undefined
      : `${apiRoot}projects/${this.project}/${scope.kind}/${scope.name}`;
  }

  /** Whether the scope exists: the emulated region and its zones, and global. */
  knows(scope: Scope): boolean {
    if (scope.kind === 'global') return true;
    if (scope.kind === 'regions') return scope.name === this.region;
    return this.zones.includes(scope.name);
  }

  nextId(): string {
    this.#ids += 7919n;
    return this.#ids.toString();
  }

  fingerprint(): string {
    return Buffer.from(`fp-${++this.#fingerprints}`).toString('base64');
  }

  list(scope: Scope, collection: string): Resource[] {
    return [...(this.#bucket(scope, collection)?.values() ?? [])];
  }

  get(scope: Scope, collection: string, name: string): Resource | undefined {
    return this.#bucket(scope, collection)?.get(name);
  }

  mustGet(scope: Scope, collection: string, name: string): Resource {
    const item = this.get(scope, collection, name);
    if (!item) throw notFound(this.path(scope, collection, name));
    return item;
  }

  put(scope: Scope, collection: string, item: Resource): void {
    const key = `${this.scopePath(scope)}/${collection}`;
    let bucket = this.#items.get(key);
    if (!bucket) this.#items.set(key, (bucket = new Map()));
    bucket.set(item.name, item);
  }

  remove(scope: Scope, collection: string, name: string): void {
    this.#bucket(scope, collection)?.delete(name);
  }

  /** Every resource with the scope and collection it lives in. */
  *all(): Generator<{ scope: Scope; collection: string; item: Resource }> {
    for (const [key, bucket] of this.#items) {
      const parts = key.split('/');
      const collection = parts.pop()!;
      const scope: Scope =
        parts[0] === 'global'
          ? { kind: 'global', name: '' }
          : { kind: parts[0] as ScopeKind, name: parts[1]! };
      for (const item of bucket.values()) yield { scope, collection, item };
    }
  }

  /**
   * A reference as GCE accepts it, resolved to the resource of `collection` it names: a full URL
   * (any host, `/compute/v1/projects/...`), `projects/...`, or `<scope>/...` relative to the project.
   * Returns the canonical selfLink, or throws 404 naming the reference.
   */
  resolve(
    ref: string,
    collection: string,
    defaultScope?: Scope,
  ): { scope: Scope; name: string; link: string } {
    const found = this.parseRef(ref, collection, defaultScope);
    if (!found || !this.get(found.scope, collection, found.name)) {
      throw notFound(found ? this.path(found.scope, collection, found.name) : ref);
    }
    return { ...found, link: this.link(found.scope, collection, found.name) };
  }

  parseRef(
    ref: string,
    collection: string,
    defaultScope?: Scope,
  ): { scope: Scope; name: string } | undefined {
    let rest = ref.replace(/^https?:\/\/[^/]+\/compute\/(v1|beta|alpha)\//, '');
    if (rest.startsWith('projects/')) {
      const [, project, ...tail] = rest.split('/');
      if (project !== this.project) return undefined;
      rest = tail.join('/');
    }
    const parts = rest.split('/');
    if (parts.length === 1 && defaultScope) return { scope: defaultScope, name: parts[0]! };
    if (parts[0] === 'global' && parts.length === 3 && parts[1] === collection) {
      return { scope: { kind: 'global', name: '' }, name: parts[2]! };
    }
    if (
      (parts[0] === 'regions' || parts[0] === 'zones') &&
      parts.length === 4 &&
      parts[2] === collection
    ) {
      return { scope: { kind: parts[0], name: parts[1]! }, name: parts[3]! };
    }
    return undefined;
  }

  #bucket(scope: Scope, collection: string): Map<string, Resource> | undefined {
    return this.#items.get(`${this.scopePath(scope)}/${collection}`);
  }
}
