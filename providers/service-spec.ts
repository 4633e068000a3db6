/**
 * Reading a Service the way the core and upstream read it, for providers: a provider that reads
 * a field on its own risks honouring less than the core validated (the older source-ranges
 * annotation, say, which upstream's GetLoadBalancerSourceRanges still honours).
 */
import { isIP } from 'node:net';
import type { V1Service } from '@kubernetes/client-node';

/** Upstream's pre-field way of restricting clients, still honoured when the field is empty. */
export const SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';

export interface SourceRanges {
  /** The CIDRs allowed to connect, trimmed; empty means everyone. */
  readonly ranges: readonly string[];
  /** Where they came from, for error messages: `${field}[i]` names one. */
  readonly field: string;
}

/** `spec.loadBalancerSourceRanges`, else the annotation, as upstream's GetLoadBalancerSourceRanges. */
export function sourceRangesOf(svc: Readonly<V1Service>): SourceRanges {
  const spec = svc.spec?.loadBalancerSourceRanges ?? [];
  if (spec.length)
    return { ranges: spec.map((r) => r.trim()), field: 'spec.loadBalancerSourceRanges' };
  const annotated = svc.metadata?.annotations?.[SOURCE_RANGES_ANNOTATION] ?? '';
  return {
    ranges: annotated
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    field: `metadata.annotations[${SOURCE_RANGES_ANNOTATION}]`,
  };
}

/** An IPv4 or IPv6 CIDR: `address/bits`, bits within the family's width. */
export function isCidr(value: string): boolean {
  const [ip, bits, extra] = value.trim().split('/');
  if (extra !== undefined || ip === undefined || bits === undefined || !/^\d{1,3}$/.test(bits))
    return false;
  const family = isIP(ip);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}
