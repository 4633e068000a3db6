/**
 * Where the fake cloud's load balancers get their ingress from. One mode per cloud: a distinct IP
 * per load balancer, a hostname derived from its name, or one fixed address shared by all.
 */
import { isIP } from 'node:net';
import type { V1LoadBalancerIngress } from '@kubernetes/client-node';

/** `ip` (the default), `hostname`, or a fixed IP or hostname every load balancer reports. */
export type IngressMode = 'ip' | 'hostname' | { readonly fixed: string };

const hostnamePattern =
  /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;

/** Parses the cloud-config `ingress` value; `undefined` when it is neither a mode nor an address. */
export function parseIngressMode(value: string): IngressMode | undefined {
  if (value === 'ip' || value === 'hostname') return value;
  if (isIP(value) !== 0 || hostnamePattern.test(value)) return { fixed: value };
  return undefined;
}

/**
 * The n-th allocated address (n from 0): 192.0.2.1-254 (TEST-NET-1) first, so small tests read
 * naturally, then the 198.18.0.0/15 benchmarking range, which holds 131 070 more.
 */
export function nthAddress(n: number): string {
  if (n < 254) return `192.0.2.${n + 1}`;
  const k = n - 254;
  if (k >= 2 * 256 * 254) throw new RangeError(`fake cloud: address pool exhausted at ${n}`);
  const host = k % 254;
  const block = Math.floor(k / 254);
  return `198.${18 + Math.floor(block / 256)}.${block % 256}.${host + 1}`;
}

export function ingressFor(
  mode: IngressMode,
  loadBalancerName: string,
  allocate: () => string,
): V1LoadBalancerIngress[] {
  if (mode === 'ip') return [{ ip: allocate() }];
  if (mode === 'hostname') return [{ hostname: `${loadBalancerName}.lb.fake.example` }];
  return isIP(mode.fixed) !== 0 ? [{ ip: mode.fixed }] : [{ hostname: mode.fixed }];
}
