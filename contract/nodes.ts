/**
 * Which nodes may carry load-balancer traffic. The controller and the local provider's proxy agent
 * both decide it, so the rule lives in the contract and neither imports the other.
 */
import type { V1Node } from '@kubernetes/client-node';

export const EXCLUDE_FROM_LOAD_BALANCERS_LABEL =
  'node.kubernetes.io/exclude-from-external-load-balancers';
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/**
 * Whether a node may receive load-balancer traffic (KEP-3458, the stable node set): readiness is
 * deliberately not a predicate, so a NotReady flap does not reconfigure every load balancer; the
 * load balancer's own health checks take such a node out.
 */
export function isEligibleNode(node: Readonly<V1Node>, needsProviderID: boolean): boolean {
  if (node.metadata?.deletionTimestamp != null) return false;
  const exclude = node.metadata?.labels?.[EXCLUDE_FROM_LOAD_BALANCERS_LABEL];
  if (exclude !== undefined && exclude !== 'false') return false;
  if (node.spec?.taints?.some((t) => t.key === TO_BE_DELETED_TAINT)) return false;
  if (needsProviderID && !node.spec?.providerID) return false;
  return true;
}
