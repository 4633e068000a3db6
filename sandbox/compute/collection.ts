/**
 * What each emulated collection defines: how an insert is checked and stored, which fields a
 * patch may change, what the resource references (for "in use" on delete), and extra verbs.
 */
import { inUse, invalidField, OperationFailure, required } from './errors.js';
import { checkName } from './names.js';
import type { ComputeState, Resource, Scope, ScopeKind } from './state.js';

export interface VerbResult {
  /** The answer of a read verb (listInstances); a write verb answers with an Operation. */
  readonly read?: object;
}

export interface Collection {
  readonly name: string;
  readonly scope: ScopeKind;
  readonly kind: string;
  /** Builds the stored resource from an insert body, or throws. Name and base fields are set. */
  create(
    state: ComputeState,
    scope: Scope,
    body: Record<string, unknown>,
    base: Resource,
  ): Resource;
  /** Fields a patch may set; any other field in the body is a 400 naming it. */
  readonly patchable?: readonly string[];
  /** Re-checks the resource after a patch merged `body` into it. */
  checkPatched?(state: ComputeState, scope: Scope, item: Resource): void;
  /** selfLinks this resource uses: those cannot be deleted while it exists. */
  refs?(state: ComputeState, scope: Scope, item: Resource): string[];
  /** Fields computed on read (an address's users and status). */
  view?(state: ComputeState, scope: Scope, item: Resource): Resource;
  /** Extra write verbs (addInstances) and read verbs (listInstances), by name. */
  readonly verbs?: Readonly<
    Record<
      string,
      {
        write: boolean;
        run(
          state: ComputeState,
          scope: Scope,
          item: Resource,
          body: Record<string, unknown>,
        ): VerbResult | void;
      }
    >
  >;
  /** Whether the resource carries a fingerprint that patches must match. */
  readonly fingerprinted?: boolean;
  /** Seeded only: inserts are refused (instances). */
  readonly readOnly?: boolean;
}

/** The fields every resource has. */
export function baseResource(
  state: ComputeState,
  collection: Collection,
  scope: Scope,
  body: Record<string, unknown>,
): Resource {
  const name = checkName(body.name);
  const base: Resource = {
    kind: collection.kind,
    id: state.nextId(),
    creationTimestamp: new Date().toISOString(),
    name,
    description: optionalString(body, 'description') ?? '',
    selfLink: state.link(scope, collection.name, name),
  };
  const scopeLink = state.scopeLink(scope);
  if (scopeLink) base[scope.kind === 'regions' ? 'region' : 'zone'] = scopeLink;
  if (collection.fingerprinted) base.fingerprint = state.fingerprint();
  return base;
}

/** Who uses `link`: the first resource referencing it, for the 400 on delete. */
export function userOf(
  state: ComputeState,
  collections: ReadonlyMap<string, Collection>,
  link: string,
): string | undefined {
  for (const { scope, collection, item } of state.all()) {
    const refs = collections.get(collection)?.refs?.(state, scope, item) ?? [];
    if (refs.includes(link)) return item.selfLink;
  }
  return undefined;
}

export function checkNotInUse(
  state: ComputeState,
  collections: ReadonlyMap<string, Collection>,
  item: Resource,
): void {
  const user = userOf(state, collections, item.selfLink);
  if (user)
    throw inUse(
      item.selfLink.replace(/^.*?\/projects\//, 'projects/'),
      user.replace(/^.*?\/projects\//, 'projects/'),
    );
}

export function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw invalidField(`resource.${key}`, v, 'Must be a string.');
  return v;
}

export function requiredString(body: Record<string, unknown>, key: string): string {
  const v = optionalString(body, key);
  if (v === undefined) throw required(`resource.${key}`);
  return v;
}

export function oneOf<T extends string>(
  body: Record<string, unknown>,
  key: string,
  values: readonly T[],
  fallback?: T,
): T {
  const v = optionalString(body, key) ?? fallback;
  if (v === undefined) throw required(`resource.${key}`);
  if (!values.includes(v as T))
    throw invalidField(`resource.${key}`, v, `Must be one of [${values.join(', ')}].`);
  return v as T;
}

export function stringList(body: Record<string, unknown>, key: string): string[] {
  const v = body[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    throw invalidField(`resource.${key}`, v, 'Must be a list of strings.');
  }
  return [...v] as string[];
}

const cidr = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export function checkCidrs(field: string, ranges: readonly string[]): void {
  ranges.forEach((r, i) => {
    const m = cidr.exec(r);
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
      throw invalidField(`${field}[${i}]`, r, 'Must be a valid IPv4 CIDR range.');
    }
  });
}

/** A count over the scope past its limit fails the Operation, as GCE's QUOTA_EXCEEDED does. */
export function checkQuota(
  state: ComputeState,
  scope: Scope,
  collection: string,
  limit: number | undefined,
  metric: string,
): void {
  if (limit === undefined) return;
  if (state.list(scope, collection).length >= limit) {
    const where = scope.kind === 'global' ? 'globally' : `in region ${state.region}`;
    throw new OperationFailure(
      'QUOTA_EXCEEDED',
      `Quota '${metric}' exceeded.  Limit: ${limit.toFixed(1)} ${where}.`,
      403,
    );
  }
}
