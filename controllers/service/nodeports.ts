/**
 * NodePorts for providers that target nodes, where the API server did not allocate them
 * (`allocateLoadBalancerNodePorts: false`). We pick free ports from the cluster's range, knowing
 * every port in use cluster-wide from the cache, and let the API server be the judge: a port taken
 * meanwhile comes back as 422 and we pick another.
 */
import type { CoreV1Api, V1Service } from '@kubernetes/client-node';
// The two helpers alone, not the package's index: that loads the whole generated API.
import { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import { isInvalid } from '../../runtime/api-errors.js';

export interface NodePortRange {
  readonly min: number;
  readonly max: number;
}

export function portsMissingNodePort(svc: Readonly<V1Service>): number[] {
  return (svc.spec?.ports ?? []).flatMap((p, i) => (p.nodePort ? [] : [i]));
}

/** Every NodePort (and health-check NodePort) any Service holds. */
export function usedNodePorts(services: Iterable<Readonly<V1Service>>): Set<number> {
  const used = new Set<number>();
  for (const s of services) {
    for (const p of s.spec?.ports ?? []) if (p.nodePort) used.add(p.nodePort);
    if (s.spec?.healthCheckNodePort) used.add(s.spec.healthCheckNodePort);
  }
  return used;
}

/**
 * Picks `count` distinct free ports, starting at a random point of the range and walking it, so
 * two controllers (or a controller and the API server) rarely pick the same one.
 */
export function pickFreePorts(
  count: number,
  used: ReadonlySet<number>,
  range: NodePortRange,
  random: () => number = Math.random,
): number[] {
  const size = range.max - range.min + 1;
  const start = Math.floor(random() * size);
  const picked: number[] = [];
  for (let i = 0; i < size && picked.length < count; i++) {
    const port = range.min + ((start + i) % size);
    if (!used.has(port)) picked.push(port);
  }
  if (picked.length < count) throw new Error(`no free NodePort left in ${range.min}-${range.max}`);
  return picked;
}

/** The Service's ports with the missing NodePorts filled in from `ports`, in order. */
export function withNodePorts(svc: Readonly<V1Service>, ports: readonly number[]) {
  let next = 0;
  return (svc.spec?.ports ?? []).map((p) =>
    p.nodePort ? { ...p } : { ...p, nodePort: ports[next++] },
  );
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const MAX_ATTEMPTS = 8;

export interface AllocateOptions {
  readonly range: NodePortRange;
  /** Every Service in the cluster (the informer cache), read afresh on each attempt. */
  readonly inUse: () => Iterable<Readonly<V1Service>>;
  readonly random?: () => number;
}

/**
 * Writes NodePorts into the Service's spec for the ports that have none. A 422 naming a NodePort
 * means another writer took it between our read and our write: remember it and pick again.
 */
export async function allocateNodePorts(
  api: Pick<CoreV1Api, 'patchNamespacedService'>,
  svc: Readonly<V1Service>,
  options: AllocateOptions,
): Promise<V1Service> {
  const refused = new Set<number>();
  for (let attempt = 1; ; attempt++) {
    const used = usedNodePorts(options.inUse());
    for (const p of refused) used.add(p);
    const picked = pickFreePorts(
      portsMissingNodePort(svc).length,
      used,
      options.range,
      options.random,
    );
    const { name = '', namespace = '', resourceVersion } = svc.metadata ?? {};
    const body = { metadata: { resourceVersion }, spec: { ports: withNodePorts(svc, picked) } };
    try {
      return await api.patchNamespacedService({ name, namespace, body }, mergePatch);
    } catch (err) {
      if (!isInvalid(err) || attempt >= MAX_ATTEMPTS) throw err;
      for (const p of picked) refused.add(p);
    }
  }
}
