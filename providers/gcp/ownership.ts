/**
 * Ownership in descriptions: most GCE load-balancing resources carry no labels (backend
 * services, health checks, firewalls), so each one's description is a JSON object naming the
 * Service and cluster, as cloud-provider-gcp writes `{"kubernetes.io/service-name":...}` into
 * its own. A release cuts a description back to cloud-provider-gcp's shape; where it is fixed
 * at creation (addresses, forwarding rules, which do carry labels), the `kube-lbc-released`
 * label says the claim is given up instead.
 */
import type { V1Service } from '@kubernetes/client-node';

export const serviceNameKey = 'kubernetes.io/service-name';
export const serviceUidKey = 'kube-lbc.io/service-uid';
export const clusterKey = 'kube-lbc.io/cluster';

export function serviceDescription(clusterName: string, service: Readonly<V1Service>): string {
  return JSON.stringify({
    [serviceNameKey]: `${service.metadata?.namespace ?? 'default'}/${service.metadata?.name ?? ''}`,
    [serviceUidKey]: service.metadata?.uid ?? '',
    [clusterKey]: clusterName,
  });
}

/** What a release leaves: cloud-provider-gcp's shape, the Service only, no cluster to claim it. */
export function releasedDescription(service: Readonly<V1Service>): string {
  return JSON.stringify({
    [serviceNameKey]: `${service.metadata?.namespace ?? 'default'}/${service.metadata?.name ?? ''}`,
  });
}

/** On an address or forwarding rule whose description still names the cluster: no claim. */
export const releasedLabel = 'kube-lbc-released';

export function isReleased(labels: Readonly<Record<string, string>> | null | undefined): boolean {
  return labels?.[releasedLabel] === 'true';
}

/** For the shared instance groups: the cluster only. */
export function clusterDescription(clusterName: string): string {
  return JSON.stringify({ [clusterKey]: clusterName });
}

export interface Owner {
  readonly cluster: string;
  readonly uid?: string;
  readonly namespace?: string;
  readonly name?: string;
}

export function parseOwner(description: string | null | undefined): Owner | undefined {
  if (!description?.startsWith('{')) return undefined;
  try {
    const d = JSON.parse(description) as Record<string, unknown>;
    if (typeof d[clusterKey] !== 'string') return undefined;
    const [namespace, name] =
      typeof d[serviceNameKey] === 'string' ? (d[serviceNameKey] as string).split('/') : [];
    return {
      cluster: d[clusterKey] as string,
      ...(typeof d[serviceUidKey] === 'string' ? { uid: d[serviceUidKey] as string } : {}),
      ...(namespace !== undefined && name !== undefined ? { namespace, name } : {}),
    };
  } catch {
    return undefined;
  }
}

export function ownedBy(
  description: string | null | undefined,
  clusterName: string,
  uid?: string,
): boolean {
  const owner = parseOwner(description);
  return owner?.cluster === clusterName && (uid === undefined || owner.uid === uid);
}
