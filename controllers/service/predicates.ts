/**
 * Which Services and Nodes the controller acts on, as pure functions of the objects, so the
 * informer handlers and `syncService` agree and tests can table them.
 */
import type { V1Node, V1Service } from '@kubernetes/client-node';

export const LOAD_BALANCER_CLEANUP_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';

/** The classes this controller claims (`--load-balancer-class`) and whether it takes unclassed ones. */
export interface ClassFilter {
  readonly loadBalancerClasses: readonly string[];
  readonly handleUnclassed: boolean;
}

export function isOurClass(svc: Readonly<V1Service>, filter: ClassFilter): boolean {
  const cls = svc.spec?.loadBalancerClass;
  return cls ? filter.loadBalancerClasses.includes(cls) : filter.handleUnclassed;
}

/** A live LoadBalancer Service of one of our classes. */
export function wantsLoadBalancer(svc: Readonly<V1Service>, filter: ClassFilter): boolean {
  return svc.spec?.type === 'LoadBalancer' && isOurClass(svc, filter);
}

/** `"true"` hands the load balancer back (`kube-lbc release`): kube-lbc stops managing it. */
export const RELEASE_ANNOTATION = 'kube-lbc.io/release';

/**
 * What the release annotation asks for: `released` ("true"), `managed` (absent or "false"), or
 * `invalid` (any other value, which must change nothing until it is fixed).
 */
export function releaseRequest(svc: Readonly<V1Service>): 'released' | 'managed' | 'invalid' {
  const value = svc.metadata?.annotations?.[RELEASE_ANNOTATION];
  if (value === undefined || value === 'false') return 'managed';
  return value === 'true' ? 'released' : 'invalid';
}

export function hasCleanupFinalizer(svc: Readonly<V1Service>): boolean {
  return svc.metadata?.finalizers?.includes(LOAD_BALANCER_CLEANUP_FINALIZER) ?? false;
}

/**
 * It is going away or no longer a LoadBalancer, and the cloud state behind the cleanup finalizer
 * is ours. The finalizer's name is upstream's, shared by every service controller, so it alone
 * does not say whose: the Service must be of a class we claim, or `madeByUs` (we made its load
 * balancer; its class may have gone with a type change). Anything else carries another
 * controller's finalizer and status, which are not ours to strip.
 *
 * A live LoadBalancer of a class we no longer claim (our own flags changed) is left as it is too:
 * spec.loadBalancerClass is immutable, so only a type change or a deletion says the user is done.
 */
export function needsCleanup(
  svc: Readonly<V1Service>,
  filter: ClassFilter,
  madeByUs = false,
): boolean {
  if (!hasCleanupFinalizer(svc)) return false;
  if (svc.metadata?.deletionTimestamp == null && svc.spec?.type === 'LoadBalancer') return false;
  return isOurClass(svc, filter) || madeByUs;
}

/**
 * Whether a change between two versions of a Service can matter to its load balancer. Our own
 * status writes come back as updates too; they must not requeue the Service.
 */
export function needsUpdate(
  oldSvc: Readonly<V1Service>,
  cur: Readonly<V1Service>,
  filter: ClassFilter,
): boolean {
  if (wantsLoadBalancer(oldSvc, filter) !== wantsLoadBalancer(cur, filter)) return true;
  if (!wantsLoadBalancer(cur, filter) && !hasCleanupFinalizer(cur)) return false;
  const o = oldSvc.metadata ?? {};
  const c = cur.metadata ?? {};
  return (
    o.uid !== c.uid ||
    !sameJson(oldSvc.spec, cur.spec) ||
    !sameJson(o.annotations ?? {}, c.annotations ?? {}) ||
    !sameJson(o.finalizers ?? [], c.finalizers ?? []) ||
    (o.deletionTimestamp == null) !== (c.deletionTimestamp == null)
  );
}

/**
 * What of a node a load balancer depends on. Equal fingerprints mean no host update is needed:
 * heartbeats, conditions and unrelated labels leave it unchanged.
 */
export function nodeFingerprint(node: Readonly<V1Node>): string {
  const addresses = (node.status?.addresses ?? [])
    .filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP')
    .map((a) => `${a.type}=${a.address}`)
    .sort();
  const weight = node.metadata?.annotations?.['kube-lbc.io/weight'] ?? '';
  return [node.metadata?.name, node.spec?.providerID ?? '', weight, ...addresses].join('|');
}

export function nodeSetFingerprint(nodes: readonly Readonly<V1Node>[]): string {
  return nodes.map(nodeFingerprint).sort().join('\n');
}

/** What of a Service its load balancer depends on, beyond the nodes. */
export function serviceFingerprint(svc: Readonly<V1Service>): string {
  return canonicalJson([svc.metadata?.uid, svc.metadata?.annotations ?? {}, svc.spec ?? {}]);
}

/**
 * `canonicalJson(a) === canonicalJson(b)` without building either string: this runs on every
 * Service update event (the profile had the two serialisations at 4-7% of the controller's CPU).
 * Same reading as JSON's: keys in any order, undefined members absent, Dates as their ISO text.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Date || b instanceof Date) return canonicalJson(a) === canonicalJson(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameJson(x ?? null, b[i] ?? null));
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x).filter((k) => x[k] !== undefined);
  if (keys.length !== Object.keys(y).filter((k) => y[k] !== undefined).length) return false;
  return keys.every((k) => Object.hasOwn(y, k) && sameJson(x[k], y[k]));
}

/**
 * JSON with object keys sorted: a server may hand the same object back with keys reordered.
 * Written out by hand rather than through a `JSON.stringify` replacer, which copied and sorted
 * every object into a new one (a Service's fingerprint is taken on every ensure).
 */
export function canonicalJson(value: unknown): string {
  return encodeCanonical(value) as string;
}

/** As `JSON.stringify` (toJSON, finite numbers, members that have no JSON left out), keys sorted. */
function encodeCanonical(value: unknown): string | undefined {
  let v = value;
  if (
    v !== null &&
    typeof v === 'object' &&
    typeof (v as { toJSON?: unknown }).toJSON === 'function'
  )
    v = (v as { toJSON(): unknown }).toJSON();
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) return `[${v.map((x) => encodeCanonical(x) ?? 'null').join(',')}]`;
      const record = v as Record<string, unknown>;
      let out = '';
      for (const key of Object.keys(record).sort()) {
        const member = encodeCanonical(record[key]);
        if (member === undefined) continue;
        out += `${out ? ',' : ''}${JSON.stringify(key)}:${member}`;
      }
      return `{${out}}`;
    }
    case 'bigint':
      return JSON.stringify(v); // throws, as JSON.stringify does
    default:
      return undefined; // undefined, functions and symbols
  }
}
