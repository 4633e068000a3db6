/**
 * The soak's Services and what "converged" means for each: the waves of changes (create; update
 * of ports, annotations, externalTrafficPolicy and type; the reverse; delete) and the check of the
 * API and the cloud inventory against them.
 */
import type { V1Service } from '@kubernetes/client-node';
import { findReadyCondition } from '../../controllers/service/status.js';
import { optionAnnotation } from '../../providers/fake/index.js';

export const FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';

/** One cloud load balancer as the soak compares it: ports as `port/protocol`, sorted. */
export interface CloudLoadBalancer {
  readonly uid: string;
  readonly ports: readonly string[];
  readonly nodes?: number;
  readonly option?: string;
}

/** Everything the cloud holds that belongs to a Service: load balancers and their parts. */
export interface CloudInventory {
  readonly loadBalancers: readonly CloudLoadBalancer[];
  /** Other owned resources (target groups, security groups), by the UID they are tagged with. */
  readonly parts: readonly { readonly kind: string; readonly uid: string }[];
}

export type WaveName = 'create' | 'update' | 'revert' | 'delete';

/** The change a wave makes to Service `i`: a merge patch, `delete`, or nothing. */
export function changeOf(
  wave: WaveName,
  i: number,
  provider: 'fake' | 'aws',
): Record<string, unknown> | 'delete' | undefined {
  const kind = i % 5;
  const note = { metadata: { annotations: { 'soak.kube-lbc.io/wave': wave } } };
  switch (wave) {
    case 'update':
      if (kind === 0) return { ...note, spec: { ports: ports(i, true) } };
      if (kind === 1) {
        // The fake's option annotation is a listener change; AWS gets one it ignores.
        const annotations =
          provider === 'fake'
            ? { [optionAnnotation]: 'enabled' }
            : { 'soak.kube-lbc.io/note': 'changed' };
        return { metadata: { annotations: { ...note.metadata.annotations, ...annotations } } };
      }
      if (kind === 2) return { ...note, spec: { externalTrafficPolicy: 'Local' } };
      if (kind === 3) return { ...note, spec: { type: 'ClusterIP' } };
      return { ...note, spec: { type: 'NodePort' } };
    case 'revert':
      if (kind === 0) return { ...note, spec: { ports: ports(i, false) } };
      if (kind === 2) return { ...note, spec: { externalTrafficPolicy: 'Cluster' } };
      if (kind === 3 || kind === 4) return { ...note, spec: { type: 'LoadBalancer' } };
      return note;
    case 'delete':
      return 'delete';
    default:
      return undefined;
  }
}

export function newSoakService(name: string, i: number): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: {
      type: 'LoadBalancer',
      selector: { app: name },
      externalTrafficPolicy: 'Cluster',
      ports: ports(i, false),
    },
  };
}

/** One port, every tenth Service two; `changed` moves the first to 8080 and adds 443. */
function ports(i: number, changed: boolean) {
  const first = { name: 'http', protocol: 'TCP', port: changed ? 8080 : 80, targetPort: 8080 };
  const more = [];
  if (i % 10 === 0) more.push({ name: 'dns', protocol: 'TCP', port: 53, targetPort: 53 });
  if (changed) more.push({ name: 'https', protocol: 'TCP', port: 443, targetPort: 8443 });
  return [first, ...more];
}

export interface Tally {
  /** Services in their wanted state, of `total`. */
  converged: number;
  total: number;
  /** Owned cloud resources whose Service is gone or no longer a LoadBalancer. */
  orphans: number;
  /** Services with more than one load balancer. */
  duplicates: number;
  /** Services deleted but still held by the finalizer. */
  stuck: number;
  /** A few of the Services not converged, and why. */
  examples: string[];
}

/**
 * Compares the API's Services with the cloud (with the API alone when `cloud` is undefined): each Service the soak ever made (`uids`, by name)
 * is either gone from both, a non-LoadBalancer with no finalizer and no cloud side, or a Ready
 * LoadBalancer whose one load balancer has its ports (and, for the fake, option and node count).
 */
export function tally(
  services: readonly V1Service[],
  uids: ReadonlyMap<string, string>,
  deleted: ReadonlySet<string>,
  cloud: CloudInventory | undefined,
  nodeCount: number | undefined,
): Tally {
  const byUid = new Map<string, CloudLoadBalancer[]>();
  for (const lb of cloud?.loadBalancers ?? [])
    byUid.set(lb.uid, [...(byUid.get(lb.uid) ?? []), lb]);
  const live = new Map(services.map((s) => [s.metadata!.name!, s]));
  const wantLb = new Set(
    services.filter((s) => s.spec?.type === 'LoadBalancer' && !s.metadata?.deletionTimestamp),
  );
  const wantedUids = new Set([...wantLb].map((s) => s.metadata!.uid!));
  const out: Tally = {
    converged: 0,
    total: uids.size,
    orphans: 0,
    duplicates: 0,
    stuck: 0,
    examples: [],
  };
  for (const lbs of byUid.values()) if (lbs.length > 1) out.duplicates++;
  for (const lb of cloud?.loadBalancers ?? []) if (!wantedUids.has(lb.uid)) out.orphans++;
  for (const part of cloud?.parts ?? []) if (!wantedUids.has(part.uid)) out.orphans++;
  for (const [name, uid] of uids) {
    const svc = live.get(name);
    const lbs = cloud ? (byUid.get(uid) ?? []) : undefined;
    const why = reason(svc, deleted.has(name), lbs, nodeCount);
    if (svc?.metadata?.deletionTimestamp) out.stuck++;
    if (why === undefined) out.converged++;
    else if (out.examples.length < 5) out.examples.push(`${name}: ${why}`);
  }
  return out;
}

function reason(
  svc: V1Service | undefined,
  deleted: boolean,
  lbs: readonly CloudLoadBalancer[] | undefined,
  nodeCount: number | undefined,
): string | undefined {
  if (deleted || !svc) {
    if (svc) return 'still in the API';
    return lbs?.length ? 'gone, its load balancer left' : undefined;
  }
  if (svc.spec?.type !== 'LoadBalancer') {
    if (lbs?.length) return `a ${svc.spec?.type} with a load balancer`;
    if (svc.metadata?.finalizers?.includes(FINALIZER)) return 'finalizer kept';
    if (svc.status?.loadBalancer?.ingress?.length) return 'ingress kept';
    return undefined;
  }
  if (!svc.metadata?.finalizers?.includes(FINALIZER)) return 'no finalizer';
  if (!svc.status?.loadBalancer?.ingress?.length) return 'no ingress';
  const ready = findReadyCondition(svc);
  if (ready?.reason !== 'Ready') return `condition ${ready?.reason ?? 'missing'}`;
  const generation = svc.metadata?.generation;
  if (generation !== undefined && ready.observedGeneration !== generation) return 'not observed';
  if (!lbs) return undefined; // the API alone
  if (lbs.length !== 1) return `${lbs.length} load balancers`;
  const lb = lbs[0]!;
  const wanted = (svc.spec.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).sort();
  if (lb.ports.join() !== wanted.join()) return `cloud ports ${lb.ports.join()}`;
  const option = svc.metadata?.annotations?.[optionAnnotation];
  if (lb.option !== undefined || option !== undefined) {
    if (lb.option !== option) return `cloud option ${lb.option}`;
  }
  if (nodeCount !== undefined && lb.nodes !== undefined && lb.nodes !== nodeCount) {
    return `${lb.nodes} of ${nodeCount} nodes`;
  }
  return undefined;
}
