/**
 * What one Service wants in Compute Engine, worked out from the Service alone (no cloud call):
 * the backend-service passthrough load balancer GKE builds (a regional address, a health check,
 * a regional backend service over the cluster's instance groups, forwarding rules, firewalls).
 */
import type { V1Node, V1Service } from '@kubernetes/client-node';
import type { FieldError } from '../../contract/provider.js';
import { canonicalCidr, isCidr, sourceRangesOf } from '../../contract/service-spec.js';
import { parseSettings, type GcpServiceSettings } from './annotations.js';
import { serviceNames, type RuleKind, type ServiceNames } from './names.js';
import { serviceDescription } from './ownership.js';

/** kube-proxy's health port: with `externalTrafficPolicy: Cluster` it answers for the node. */
export const kubeProxyHealthPort = 10256;

/**
 * Google's health-check probers, which the nodes must admit on the health-check port: for
 * external passthrough load balancers 35.191.0.0/16, 209.85.152.0/22 and 209.85.204.0/22; for
 * internal ones 35.191.0.0/16 and 130.211.0.0/22 (cloud-provider-gcp's L4 ranges).
 */
export const healthCheckRanges = {
  external: ['35.191.0.0/16', '209.85.152.0/22', '209.85.204.0/22'],
  internal: ['130.211.0.0/22', '35.191.0.0/16'],
} as const;

export interface DesiredRule {
  readonly kind: RuleKind;
  readonly name: string;
  readonly IPProtocol: 'TCP' | 'UDP' | 'L3_DEFAULT';
  /** At most five; more become `portRange`, as GCE requires. */
  readonly ports?: readonly string[];
  readonly portRange?: string;
  readonly allPorts?: boolean;
}

export interface Desired {
  readonly names: ServiceNames;
  readonly description: string;
  readonly settings: GcpServiceSettings;
  readonly requestedIP?: string;
  readonly backendProtocol: 'TCP' | 'UDP' | 'UNSPECIFIED';
  readonly rules: readonly DesiredRule[];
  readonly healthCheck: { readonly port: number; readonly path: string };
  readonly sessionAffinity: 'NONE' | 'CLIENT_IP';
  readonly sourceRanges: readonly string[];
  /** Service ports by lowercase protocol, for the firewall's `allowed`. */
  readonly allowed: readonly { IPProtocol: 'tcp' | 'udp'; ports: string[] }[];
}

export function validate(service: Readonly<V1Service>): FieldError[] {
  const { errors } = parseSettings(service);
  const { ranges, field } = sourceRangesOf(service);
  ranges.forEach((r, i) => {
    if (!isCidr(r) || r.includes(':')) {
      errors.push({
        field: `${field}[${i}]`,
        message: `"${r}" is not an IPv4 CIDR (this provider serves IPv4)`,
      });
    }
  });
  const ip = service.spec?.loadBalancerIP;
  if (ip && !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) {
    errors.push({ field: 'spec.loadBalancerIP', message: `"${ip}" is not an IPv4 address` });
  }
  (service.spec?.ports ?? []).forEach((p, i) => {
    const protocol = p.protocol ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP') {
      errors.push({
        field: `spec.ports[${i}].protocol`,
        message: `${protocol} is not served (TCP, UDP)`,
      });
    }
  });
  return errors;
}

export function desiredState(clusterName: string, service: Readonly<V1Service>): Desired {
  const { settings } = parseSettings(service);
  const names = serviceNames(clusterName, service);
  const byProtocol = new Map<'TCP' | 'UDP', number[]>();
  for (const p of service.spec?.ports ?? []) {
    const protocol = (p.protocol ?? 'TCP') as 'TCP' | 'UDP';
    const list = byProtocol.get(protocol) ?? [];
    if (!list.includes(p.port)) list.push(p.port);
    byProtocol.set(
      protocol,
      list.sort((a, b) => a - b),
    );
  }
  const mixed = byProtocol.size > 1;
  const rules: DesiredRule[] = mixed
    ? [{ kind: 'l3', name: names.forwardingRule.l3, IPProtocol: 'L3_DEFAULT', allPorts: true }]
    : [...byProtocol].map(([protocol, ports]) => {
        const kind = protocol === 'TCP' ? 'tcp' : 'udp';
        return {
          kind,
          name: names.forwardingRule[kind],
          IPProtocol: protocol,
          ...(ports.length > 5
            ? { portRange: `${ports[0]}-${ports[ports.length - 1]}` }
            : { ports: ports.map(String) }),
        };
      });
  const local = service.spec?.externalTrafficPolicy === 'Local';
  const hcPort =
    local && service.spec?.healthCheckNodePort
      ? service.spec.healthCheckNodePort
      : kubeProxyHealthPort;
  // As GCE stores them (host bits cleared), so a re-read compares equal.
  const ranges = sourceRangesOf(service).ranges.map(canonicalCidr);
  const ip = service.spec?.loadBalancerIP;
  return {
    names,
    description: serviceDescription(clusterName, service),
    settings,
    ...(ip ? { requestedIP: ip } : {}),
    backendProtocol: mixed ? 'UNSPECIFIED' : ([...byProtocol.keys()][0] ?? 'TCP'),
    rules,
    healthCheck: { port: hcPort, path: '/healthz' },
    sessionAffinity: service.spec?.sessionAffinity === 'ClientIP' ? 'CLIENT_IP' : 'NONE',
    sourceRanges: ranges.length > 0 ? [...new Set(ranges)].sort() : ['0.0.0.0/0'],
    allowed: [...byProtocol].map(([protocol, ports]) => ({
      IPProtocol: protocol === 'TCP' ? 'tcp' : 'udp',
      ports: ports.map(String),
    })),
  };
}

export interface NodeInstance {
  readonly zone: string;
  readonly name: string;
}

/** `gce://<project>/<zone>/<name>`; nodes without one (or in another project or region) are skipped. */
export function nodeInstances(
  nodes: readonly Readonly<V1Node>[],
  project: string,
  region: string,
): { instances: NodeInstance[]; skipped: { node: string; why: string }[] } {
  const instances: NodeInstance[] = [];
  const skipped: { node: string; why: string }[] = [];
  for (const node of nodes) {
    const name = node.metadata?.name ?? '';
    const m = /^gce:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(node.spec?.providerID ?? '');
    if (!m)
      skipped.push({
        node: name,
        why: 'has no spec.providerID of the form gce://<project>/<zone>/<instance>',
      });
    else if (m[1] !== project)
      skipped.push({ node: name, why: `is in project ${m[1]}, not ${project}` });
    else if (!m[2]!.startsWith(`${region}-`))
      skipped.push({ node: name, why: `is in zone ${m[2]}, outside region ${region}` });
    else instances.push({ zone: m[2]!, name: m[3]! });
  }
  return { instances, skipped };
}
