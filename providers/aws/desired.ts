/**
 * What one Service should look like in AWS: the NLB, one listener per Service port number, one
 * target group per (port, protocol), the instance targets and the health checks. Pure: no AWS
 * call, so it is unit-tested as a table and the reconcilers only compare.
 */
import { isIP } from 'node:net';
import type { V1Node, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { FieldError } from '../../contract/provider.js';
import { quote } from '../../contract/quote.js';
import {
  annotation,
  defaultHealthCheckIntervalSeconds,
  parseAnnotations,
  type AwsServiceSettings,
  type HealthCheckProtocol,
  type TlsSettings,
} from './annotations.js';
import { desiredTargetGroupAttributes } from './attributes.js';
import { loadBalancerName, targetGroupName, type TargetProtocol } from './names.js';
import { ownershipTags } from './tags.js';
import { canonicalCidr, isCidr, sourceRangesOf } from '../../contract/service-spec.js';

export interface HealthCheck {
  readonly protocol: HealthCheckProtocol;
  /** A port number as a string, or `traffic-port`, as ELBv2 takes it. */
  readonly port: string;
  /** Only for HTTP(S). */
  readonly path?: string;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export interface DesiredTargetGroup {
  readonly name: string;
  readonly protocol: TargetProtocol;
  /** The NodePort: instance targets receive traffic there. */
  readonly port: number;
  readonly healthCheck: HealthCheck;
  /** Every target group attribute kube-lbc manages, with the value it should have. */
  readonly attributes: Readonly<Record<string, string>>;
}

export interface DesiredListener {
  readonly port: number;
  /** The target group's protocol; a TLS listener forwards TCP. */
  readonly protocol: TargetProtocol;
  readonly targetGroupName: string;
  /** Set for a TLS listener (ssl-cert and ssl-ports): the NLB terminates TLS. */
  readonly tls?: { readonly certificateArn: string; readonly sslPolicy?: string };
}

export interface DesiredLoadBalancer {
  readonly name: string;
  readonly settings: AwsServiceSettings;
  /** Ownership plus additional-resource-tags, for every ELBv2 resource. */
  readonly tags: Readonly<Record<string, string>>;
  readonly listeners: readonly DesiredListener[];
  readonly targetGroups: readonly DesiredTargetGroup[];
  /** Who may connect; `0.0.0.0/0` (and `::/0` for dualstack) when the Service sets none. */
  readonly sourceRanges: readonly string[];
}

/** kube-proxy's own health endpoint, used where the traffic port cannot answer TCP (UDP). */
export const kubeProxyHealthPort = 10256;

/** Every problem with the Service, annotations and spec alike, for `validateService`. */
export function validate(service: Readonly<V1Service>, clusterName: string): FieldError[] {
  const parsed = parseAnnotations(service);
  const errors = [...parsed.errors];
  const ports = service.spec?.ports ?? [];
  if (ports.length === 0)
    errors.push({ field: 'spec.ports', message: 'a load balancer needs at least one port' });
  ports.forEach((p, i) => {
    const protocol = p.protocol ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP') {
      errors.push({
        field: `spec.ports[${i}].protocol`,
        message: `${protocol} is not supported by NLBs here (TCP, UDP)`,
      });
    }
    const twin = ports.findIndex((q, j) => j < i && q.port === p.port);
    if (twin >= 0 && ports[twin]!.nodePort !== p.nodePort) {
      errors.push({
        field: `spec.ports[${i}].nodePort`,
        message: `port ${p.port} is both TCP and UDP, which an NLB serves as one TCP_UDP target group on one node port; set the same nodePort as spec.ports[${twin}]`,
      });
    }
  });
  const { tls, targetGroupAttributes } = parsed.settings;
  if (tls && tls.ports !== '*') {
    for (const entry of tls.ports) {
      const matches = ports.filter((p) => String(p.port) === entry || p.name === entry);
      if (matches.length === 0) {
        errors.push({
          field: `metadata.annotations[${annotation.sslPorts}]`,
          message: `"${entry}" names no port of the Service`,
        });
      }
    }
  }
  for (const p of ports) {
    if (tls && tlsFor(tls, p) && (p.protocol ?? 'TCP') !== 'TCP') {
      errors.push({
        field: `metadata.annotations[${annotation.sslPorts}]`,
        message: `port ${p.port} is ${p.protocol}: an NLB serves TLS over TCP only`,
      });
    }
  }
  if (targetGroupAttributes?.['stickiness.enabled'] === 'true' && tls) {
    if (ports.some((p) => tlsFor(tls, p)))
      errors.push({
        field: `metadata.annotations[${annotation.targetGroupAttributes}]`,
        message: 'stickiness is not supported behind TLS listeners (ssl-cert)',
      });
  }
  const sources = sourceRangesOf(service);
  sources.ranges.forEach((cidr, i) => {
    if (!isCidr(cidr))
      errors.push({ field: `${sources.field}[${i}]`, message: `${quote(cidr)} is not a CIDR` });
  });
  if (sources.ranges.length > 0 && (parsed.settings.userSecurityGroups?.replace.length ?? 0) > 0) {
    // The ranges live in kube-lbc's own frontend group, which security-groups replaces, and
    // kube-lbc never edits a user's group: it could not enforce them.
    errors.push({
      field: `metadata.annotations[${annotation.securityGroups}]`,
      message: `cannot be combined with ${sources.field}: the NLB's frontend groups are then the user's, which kube-lbc does not edit, so the source ranges would not be enforced; put the ranges in those groups, or use ${annotation.extraSecurityGroups}`,
    });
  }
  return errors;
}

export { isCidr };

/**
 * The desired state. Callers validate first: this throws on the problems `validate` reports
 * (a missing NodePort is the core's to fix, since it allocates them for this provider).
 */
export function desiredLoadBalancer(
  clusterName: string,
  service: Readonly<V1Service>,
): DesiredLoadBalancer {
  const { settings } = parseAnnotations(service);
  const uid = service.metadata!.uid!;
  const byPort = new Map<number, { protocols: Set<string>; nodePort: number }>();
  for (const p of service.spec?.ports ?? []) {
    if (p.nodePort === undefined) throw new Error(`port ${p.port} has no nodePort yet`);
    const entry = byPort.get(p.port) ?? { protocols: new Set<string>(), nodePort: p.nodePort };
    entry.protocols.add(p.protocol ?? 'TCP');
    byPort.set(p.port, entry);
  }
  const listeners: DesiredListener[] = [];
  const targetGroups: DesiredTargetGroup[] = [];
  for (const [port, { protocols, nodePort }] of [...byPort].sort((a, b) => a[0] - b[0])) {
    const protocol: TargetProtocol =
      protocols.size > 1 ? 'TCP_UDP' : protocols.has('UDP') ? 'UDP' : 'TCP';
    const name = targetGroupName(clusterName, uid, port, protocol, nodePort);
    const tls = settings.tls;
    const secure =
      tls && (service.spec?.ports ?? []).some((p) => p.port === port && tlsFor(tls, p));
    listeners.push({
      port,
      protocol,
      targetGroupName: name,
      ...(secure
        ? {
            tls: {
              certificateArn: tls.certificateArn,
              ...(tls.sslPolicy ? { sslPolicy: tls.sslPolicy } : {}),
            },
          }
        : {}),
    });
    targetGroups.push({
      name,
      protocol,
      port: nodePort,
      healthCheck: healthCheckFor(service, settings, protocol),
      attributes: desiredTargetGroupAttributes(settings.targetGroupAttributes),
    });
  }
  const { ranges } = sourceRangesOf(service);
  const openTo = settings.ipAddressType === 'dualstack' ? ['0.0.0.0/0', '::/0'] : ['0.0.0.0/0'];
  return {
    name: loadBalancerName(clusterName, service),
    settings,
    tags: { ...settings.additionalTags, ...ownershipTags(clusterName, service) },
    listeners,
    targetGroups,
    sourceRanges: ranges.length > 0 ? [...new Set(ranges.map(canonicalCidr))].sort() : openTo,
  };
}

/** Whether ssl-ports (by number or name, or `*`) covers this Service port. */
function tlsFor(tls: TlsSettings, port: Readonly<V1ServicePort>): boolean {
  return tls.ports === '*' || tls.ports.some((e) => e === String(port.port) || e === port.name);
}

/**
 * externalTrafficPolicy Local: HTTP `/healthz` on healthCheckNodePort, so only nodes with a ready
 * endpoint receive traffic. Cluster: TCP on the traffic port; for UDP, whose node port cannot
 * answer a TCP probe, kube-proxy's HTTP health endpoint instead. Annotations override each field.
 */
export function healthCheckFor(
  service: Readonly<V1Service>,
  settings: AwsServiceSettings,
  protocol: TargetProtocol,
): HealthCheck {
  const local = service.spec?.externalTrafficPolicy === 'Local' && service.spec.healthCheckNodePort;
  const base: { protocol: HealthCheckProtocol; port: string; path?: string } = local
    ? { protocol: 'HTTP', port: String(service.spec!.healthCheckNodePort), path: '/healthz' }
    : protocol === 'UDP'
      ? { protocol: 'HTTP', port: String(kubeProxyHealthPort), path: '/healthz' }
      : { protocol: 'TCP', port: 'traffic-port' };
  const o = settings.healthCheck;
  const hcProtocol = o.protocol ?? base.protocol;
  const path = hcProtocol === 'TCP' ? undefined : (o.path ?? base.path ?? '/');
  const interval = o.intervalSeconds ?? defaultHealthCheckIntervalSeconds;
  return {
    protocol: hcProtocol,
    port: o.port !== undefined ? String(o.port) : base.port,
    ...(path !== undefined ? { path } : {}),
    // cloud-provider-aws's NLB defaults; a default timeout never outlasts a shorter interval.
    intervalSeconds: interval,
    timeoutSeconds: o.timeoutSeconds ?? Math.min(hcProtocol === 'HTTP' ? 6 : 10, interval - 1),
    healthyThreshold: o.healthyThreshold ?? 3,
    unhealthyThreshold: o.unhealthyThreshold ?? 3,
  };
}

/** `aws:///us-east-1a/i-0123abcd` -> `i-0123abcd`; undefined for anything else. */
export function instanceIdOf(node: Readonly<V1Node>): string | undefined {
  const id = node.spec?.providerID;
  if (!id?.startsWith('aws://')) return undefined;
  const last = id.split('/').pop() ?? '';
  return /^i-[0-9a-f]+$/.test(last) ? last : undefined;
}

/** The nodes target-node-labels selects; every node when the Service sets none. */
export function targetNodes<N extends Readonly<V1Node>>(
  service: Readonly<V1Service>,
  nodes: readonly N[],
): N[] {
  const selector = parseAnnotations(service).settings.targetNodeLabels;
  if (!selector) return [...nodes];
  return nodes.filter((node) => {
    const labels = node.metadata?.labels ?? {};
    return Object.entries(selector).every(([key, value]) =>
      value === undefined ? key in labels : labels[key] === value,
    );
  });
}

/** Instance IDs of the nodes, sorted, and the names of nodes that had none. */
export function desiredTargets(nodes: readonly Readonly<V1Node>[]): {
  instanceIds: string[];
  skipped: string[];
} {
  const ids = new Set<string>();
  const skipped: string[] = [];
  for (const node of nodes) {
    const id = instanceIdOf(node);
    if (id) ids.add(id);
    else skipped.push(node.metadata?.name ?? '?');
  }
  return { instanceIds: [...ids].sort(), skipped };
}
