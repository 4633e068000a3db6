/**
 * Ownership tags. Every resource carries all three, so a listing by tag tells whose it is
 * (cluster, Service UID) and a person reading the console can tell which Service (namespace/name).
 */
import type { V1Service } from '@kubernetes/client-node';

export const serviceNameTag = 'kubernetes.io/service-name';
export const serviceUidTag = 'kube-lbc.io/service-uid';

/**
 * On an NLB while its set of target groups is changing: set before the first write that can
 * leave a group no listener uses (creating a group, repointing or deleting a listener, a new
 * NLB), removed once the groups the Service no longer has are deleted. A run that dies in
 * between leaves it, so the next ensure looks for such groups by name; without it, a group off
 * every listener is invisible from the NLB and stays until the Service is deleted.
 */
export const retiringTag = 'kube-lbc.io/retiring-target-groups';

export function clusterTag(clusterName: string): string {
  return `${clusterTagPrefix}${clusterName}`;
}

export function ownershipTags(
  clusterName: string,
  service: Readonly<V1Service>,
): Record<string, string> {
  return {
    [clusterTag(clusterName)]: 'owned',
    [serviceNameTag]: `${service.metadata?.namespace ?? 'default'}/${service.metadata?.name ?? ''}`,
    [serviceUidTag]: service.metadata?.uid ?? '',
  };
}

/**
 * Keys a user may not set through additional-resource-tags: every key that says who owns a
 * resource, for any cluster. A Service of one cluster tagged `kubernetes.io/cluster/<other>`
 * would otherwise show up in the other cluster's listing of what it owns.
 */
export function isReservedTagKey(key: string): boolean {
  return (
    key.startsWith(clusterTagPrefix) || key === serviceNameTag || key.startsWith(kubeLbcTagPrefix)
  );
}

const clusterTagPrefix = 'kubernetes.io/cluster/';
/** serviceUidTag, retiringTag and any later tag of ours. */
const kubeLbcTagPrefix = 'kube-lbc.io/';

/** True when `tags` say the resource belongs to this cluster and Service UID. */
export function ownedBy(
  tags: Readonly<Record<string, string>>,
  clusterName: string,
  uid?: string,
): boolean {
  if (tags[clusterTag(clusterName)] !== 'owned') return false;
  return uid === undefined || tags[serviceUidTag] === uid;
}

export function toAwsTags(
  tags: Readonly<Record<string, string>>,
): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function fromAwsTags(
  tags: readonly { Key?: string; Value?: string }[] | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}
