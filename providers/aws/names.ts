/**
 * Names of everything the provider creates, derived from the cluster name and the Service UID
 * alone, so a restart (or a garbage collector that only knows the UID) finds the same resources.
 *
 * ELBv2 names: at most 32 characters, alphanumerics and single hyphens, no leading or trailing
 * hyphen. Load balancer and target group names live in separate namespaces per account+region.
 */
import { createHash } from 'node:crypto';
import type { V1Service } from '@kubernetes/client-node';

export type TargetProtocol = 'TCP' | 'UDP' | 'TCP_UDP';

/** 28 hex characters of sha256(cluster/uid): unique per cluster and Service. */
function serviceHash(clusterName: string, uid: string): string {
  return createHash('sha256').update(`${clusterName}/${uid}`).digest('hex');
}

function uidOf(service: Readonly<V1Service>): string {
  const uid = service.metadata?.uid;
  if (!uid) throw new Error('Service has no metadata.uid');
  return uid;
}

/** `k8s-` + 28 hex = 32 characters exactly. */
export function loadBalancerName(clusterName: string, service: Readonly<V1Service>): string {
  return `k8s-${serviceHash(clusterName, uidOf(service)).slice(0, 28)}`;
}

/**
 * Every target group of one Service starts with this (14 characters), so deletion can find the
 * ones left unattached by a crash by listing names, then confirm ownership by tag.
 */
export function targetGroupPrefix(clusterName: string, uid: string): string {
  return `k8s-${serviceHash(clusterName, uid).slice(0, 9)}-`;
}

const protocolTag: Record<TargetProtocol, string> = { TCP: 'tcp', UDP: 'udp', TCP_UDP: 'tcpudp' };

/**
 * `k8s-<hash9>-<tcp|udp|tcpudp>-<port>-<nodePort>`, at most 32 characters. The node port is in
 * the name because a target group's port cannot change: a new node port means a new group.
 */
export function targetGroupName(
  clusterName: string,
  uid: string,
  port: number,
  protocol: TargetProtocol,
  nodePort: number,
): string {
  return `${targetGroupPrefix(clusterName, uid)}${protocolTag[protocol]}-${port}-${nodePort}`;
}

/** EC2 security group names allow 255 characters; the LB name keeps them recognisable. */
export function securityGroupName(clusterName: string, service: Readonly<V1Service>): string {
  return `${loadBalancerName(clusterName, service)}-frontend`;
}

/**
 * The cluster's backend security group (backend-group.ts), one per VPC: EC2 names are unique per
 * VPC, so a create repeated after a crash is refused instead of making a second group.
 */
export function backendGroupName(clusterName: string): string {
  return `kube-lbc-backend-${clusterName}`;
}
