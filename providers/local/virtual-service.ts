/**
 * What the data path should serve for one Service, derived from the Service, its address and
 * the eligible nodes. Pure: the provider (in-process mode) and the proxy agent both build it, so
 * the two modes cannot disagree about what a Service means.
 */
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { nodeAddress, nodeWeight, type ServiceSettings } from './annotations.js';
import type { BackendTarget } from './balancer.js';
import type { HealthTarget } from './health.js';
import type { IpRange } from './ipv4.js';
import type { SchedulerName } from './schedulers/index.js';

export interface VirtualBackend extends BackendTarget {
  /** What the health checker probes; `undefined` for a UDP port without a /healthz to ask. */
  readonly health: HealthTarget | undefined;
}

export interface VirtualPort {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  readonly backends: readonly VirtualBackend[];
}

export interface VirtualServiceSpec {
  /** The Service UID: stable across renames of nothing, unique across namespaces. */
  readonly key: string;
  /** `namespace/name`, for logs. */
  readonly name: string;
  readonly address: string;
  readonly scheduler: SchedulerName;
  readonly affinityTimeoutMs: number | undefined;
  readonly sourceRanges: readonly IpRange[];
  readonly ports: readonly VirtualPort[];
}

export function virtualServiceFor(
  service: Readonly<V1Service>,
  address: string,
  settings: ServiceSettings,
  nodes: readonly Readonly<V1Node>[],
): VirtualServiceSpec {
  const spec = service.spec ?? {};
  const localHealthPort =
    spec.externalTrafficPolicy === 'Local' ? spec.healthCheckNodePort : undefined;
  const ports: VirtualPort[] = [];
  for (const p of spec.ports ?? []) {
    const protocol = p.protocol ?? 'TCP';
    if ((protocol !== 'TCP' && protocol !== 'UDP') || !p.nodePort) continue;
    const backends: VirtualBackend[] = [];
    for (const node of nodes) {
      const host = nodeAddress(node);
      if (!host) continue;
      backends.push({
        host,
        port: p.nodePort,
        weight: nodeWeight(node),
        health: healthTarget(host, p.nodePort, protocol, localHealthPort),
      });
    }
    // Sorted, so the same nodes in another order make the same spec (and no write).
    backends.sort((a, b) => a.host.localeCompare(b.host));
    ports.push({ port: p.port, protocol, backends });
  }
  return {
    key: service.metadata?.uid ?? '',
    name: `${service.metadata?.namespace}/${service.metadata?.name}`,
    address,
    scheduler: settings.scheduler,
    affinityTimeoutMs: settings.affinityTimeoutMs,
    sourceRanges: settings.sourceRanges,
    ports,
  };
}

/**
 * Local traffic asks kube-proxy's /healthz whether the node has endpoints (a TCP connect would
 * succeed on a node without any); Cluster traffic checks the NodePort itself. A UDP NodePort
 * cannot be probed by a connect, so it has no active check.
 */
function healthTarget(
  host: string,
  nodePort: number,
  protocol: 'TCP' | 'UDP',
  localHealthPort: number | undefined,
): HealthTarget | undefined {
  if (localHealthPort) return { kind: 'http', host, port: localHealthPort, path: '/healthz' };
  return protocol === 'TCP' ? { kind: 'tcp', host, port: nodePort } : undefined;
}
