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

/**
 * A valid CIDR as a cloud stores it, and as upstream's net.ParseCIDR reads it: host bits cleared
 * (`10.1.2.3/8` is `10.0.0.0/8`), IPv6 lower-case and compressed. Compare and write only this
 * form, or a rule the cloud normalised looks foreign on the next sync. Call on valid CIDRs only.
 */
export function canonicalCidr(value: string): string {
  const [ip = '', bitsText = ''] = value.trim().split('/');
  const bits = Number(bitsText);
  if (isIP(ip) === 4) {
    const n = ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    const masked = n & mask(32, bits);
    const octets = [24n, 16n, 8n, 0n].map((shift) => String((masked >> shift) & 255n));
    return `${octets.join('.')}/${bits}`;
  }
  const masked = ipv6ToBigInt(ip) & mask(128, bits);
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n)
    groups.push(((masked >> shift) & 0xffffn).toString(16));
  // The URL parser prints IPv6 in RFC 5952 form (longest zero run as `::`, lower case).
  return `${new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1)}/${bits}`;
}

function mask(width: number, bits: number): bigint {
  const all = (1n << BigInt(width)) - 1n;
  return (all >> BigInt(width - bits)) << BigInt(width - bits);
}

function ipv6ToBigInt(ip: string): bigint {
  let text = ip.toLowerCase();
  // A trailing dotted quad (::ffff:1.2.3.4) is two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n);
}
