/**
 * Checks a Service against what the provider declares it can do, before any cloud call, so a
 * user gets one Warning Event naming every bad field instead of a failure deep in a cloud API.
 */
import { isIP } from 'node:net';
import type { V1Service } from '@kubernetes/client-node';
import type { Capabilities, FieldError, LoadBalancerProvider, Protocol } from '../../providers/provider.js';

export function validateService(svc: Readonly<V1Service>, provider: LoadBalancerProvider): FieldError[] {
  return [...validateCapabilities(svc, provider.capabilities), ...provider.validateService(svc)];
}

export function validateCapabilities(svc: Readonly<V1Service>, caps: Capabilities): FieldError[] {
  const errors: FieldError[] = [];
  const spec = svc.spec ?? {};
  const ports = spec.ports ?? [];
  if (ports.length === 0) errors.push({ field: 'spec.ports', message: 'a LoadBalancer Service needs at least one port' });
  const protocols = new Set<string>();
  ports.forEach((p, i) => {
    const protocol = (p.protocol ?? 'TCP') as Protocol;
    protocols.add(protocol);
    if (!caps.protocols.includes(protocol)) {
      errors.push({
        field: `spec.ports[${i}].protocol`,
        message: `protocol ${protocol} is not supported by this provider (supported: ${caps.protocols.join(', ')})`,
      });
    }
  });
  if (protocols.size > 1 && !caps.mixedProtocols) {
    errors.push({ field: 'spec.ports', message: `mixed protocols (${[...protocols].join(', ')}) on one load balancer are not supported by this provider` });
  }
  if (spec.loadBalancerIP) {
    if (!caps.requestedIP) errors.push({ field: 'spec.loadBalancerIP', message: 'this provider cannot honour a requested IP' });
    else if (!isIP(spec.loadBalancerIP)) errors.push({ field: 'spec.loadBalancerIP', message: `"${spec.loadBalancerIP}" is not an IP address` });
  }
  // The API server validates the spec field; the older annotation reaches us unchecked.
  const annotated = svc.metadata?.annotations?.[SOURCE_RANGES_ANNOTATION];
  const fromAnnotation = spec.loadBalancerSourceRanges?.length ? undefined : annotated;
  const ranges = fromAnnotation !== undefined ? splitList(fromAnnotation) : (spec.loadBalancerSourceRanges ?? []);
  const field = fromAnnotation !== undefined ? `metadata.annotations[${SOURCE_RANGES_ANNOTATION}]` : 'spec.loadBalancerSourceRanges';
  if (ranges.length > 0 && !caps.sourceRanges) {
    errors.push({ field, message: 'this provider cannot restrict source ranges' });
  }
  ranges.forEach((r, i) => {
    if (!isCidr(r)) errors.push({ field: `${field}[${i}]`, message: `"${r}" is not a valid CIDR` });
  });
  if ((spec.ipFamilies?.length ?? 0) > 1 && !caps.dualStack) {
    errors.push({ field: 'spec.ipFamilies', message: 'dual-stack load balancers are not supported by this provider' });
  }
  return errors;
}

/** Upstream's pre-field way of restricting clients, still honoured when the field is empty. */
export const SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';

/**
 * The CIDRs allowed to connect: `spec.loadBalancerSourceRanges`, else the annotation, as
 * upstream's GetLoadBalancerSourceRanges; empty means everyone. Providers call this.
 */
export function loadBalancerSourceRanges(svc: Readonly<V1Service>): string[] {
  if (svc.spec?.loadBalancerSourceRanges?.length) return [...svc.spec.loadBalancerSourceRanges];
  return splitList(svc.metadata?.annotations?.[SOURCE_RANGES_ANNOTATION] ?? '');
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

export function isCidr(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return false;
  const ip = value.slice(0, slash);
  const bits = value.slice(slash + 1);
  const family = isIP(ip);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}
