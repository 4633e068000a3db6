/**
 * Names of everything the provider creates, from the cluster name and the Service UID alone, so
 * a restart or the garbage collector finds the same resources. GCE names: `[a-z]([-a-z0-9]*
 * [a-z0-9])?`, at most 63 characters. Every per-Service name starts with the cluster's prefix,
 * so owned resources can be listed with one `name eq` filter per collection.
 */
import { createHash } from 'node:crypto';
import type { V1Service } from '@kubernetes/client-node';

export type RuleKind = 'tcp' | 'udp' | 'l3';

const hash = (text: string) => createHash('sha256').update(text).digest('hex');

/** `k8s-<8 hex of the cluster>-`: every per-Service resource name starts with it. */
export function clusterPrefix(clusterName: string): string {
  return `k8s-${hash(clusterName).slice(0, 8)}-`;
}

function uidOf(service: Readonly<V1Service>): string {
  const uid = service.metadata?.uid;
  if (!uid) throw new Error('Service has no metadata.uid');
  return uid;
}

/** `k8s-<8>-<16>`, 29 characters: the address, backend service and the base of the rest. */
export function baseName(clusterName: string, service: Readonly<V1Service>): string {
  return `${clusterPrefix(clusterName)}${hash(`${clusterName}/${uidOf(service)}`).slice(0, 16)}`;
}

export interface ServiceNames {
  readonly address: string;
  readonly healthCheck: string;
  readonly backendService: string;
  readonly forwardingRule: Readonly<Record<RuleKind, string>>;
  readonly firewall: string;
  readonly healthCheckFirewall: string;
}

export function serviceNames(clusterName: string, service: Readonly<V1Service>): ServiceNames {
  const base = baseName(clusterName, service);
  return {
    address: base,
    healthCheck: `${base}-hc`,
    backendService: base,
    forwardingRule: { tcp: `${base}-tcp`, udp: `${base}-udp`, l3: `${base}-l3` },
    firewall: `${base}-fw`,
    healthCheckFirewall: `${base}-fw-hc`,
  };
}

/** The cluster's unmanaged instance group, one per zone, shared by all its Services (as GKE's `k8s-ig--<id>`). */
export function instanceGroupName(clusterName: string): string {
  return `k8s-ig-${hash(clusterName).slice(0, 8)}`;
}
