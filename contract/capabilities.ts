/**
 * Checks a Service against what the provider declares it can do, before any cloud call, so a
 * user gets one Warning Event naming every bad field instead of a failure deep in a cloud API.
 */
import { isIP } from 'node:net';
import type { V1Service } from '@kubernetes/client-node';
import type { Capabilities, FieldError, LoadBalancerProvider, Protocol } from './provider.js';
import { quote } from './quote.js';
import { isCidr, sourceRangesOf } from './service-spec.js';

/**
 * The core's checks, then the provider's, one error per field: a provider that checks what the
 * capabilities already refuse (SCTP on aws, a bad source range) must not list it twice.
 */
export function validateService(
  svc: Readonly<V1Service>,
  provider: LoadBalancerProvider,
): FieldError[] {
  const errors = validateCapabilities(svc, provider.capabilities);
  const named = new Set(errors.map((e) => e.field));
  for (const e of provider.validateService(svc)) {
    if (named.has(e.field)) continue;
    named.add(e.field);
    errors.push(e);
  }
  return errors;
}

export function validateCapabilities(svc: Readonly<V1Service>, caps: Capabilities): FieldError[] {
  const errors: FieldError[] = [];
  const spec = svc.spec ?? {};
  const ports = spec.ports ?? [];
  if (ports.length === 0)
    errors.push({ field: 'spec.ports', message: 'a LoadBalancer Service needs at least one port' });
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
    errors.push({
      field: 'spec.ports',
      message: `mixed protocols (${[...protocols].join(', ')}) on one load balancer are not supported by this provider`,
    });
  }
  if (spec.loadBalancerIP) {
    if (!caps.requestedIP)
      errors.push({
        field: 'spec.loadBalancerIP',
        message: 'this provider cannot honour a requested IP',
      });
    else if (!isIP(spec.loadBalancerIP))
      errors.push({
        field: 'spec.loadBalancerIP',
        message: `${quote(spec.loadBalancerIP)} is not an IP address`,
      });
  }
  // The API server validates the spec field; the older annotation reaches us unchecked.
  const { ranges, field } = sourceRangesOf(svc);
  if (ranges.length > 0 && !caps.sourceRanges) {
    errors.push({ field, message: 'this provider cannot restrict source ranges' });
  }
  ranges.forEach((r, i) => {
    if (!isCidr(r))
      errors.push({ field: `${field}[${i}]`, message: `${quote(r)} is not a valid CIDR` });
  });
  if ((spec.ipFamilies?.length ?? 0) > 1 && !caps.dualStack) {
    errors.push({
      field: 'spec.ipFamilies',
      message: 'dual-stack load balancers are not supported by this provider',
    });
  }
  return errors;
}
