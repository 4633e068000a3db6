/**
 * Decides a Service's address: the one it asked for (if free and in the pool), the one it
 * already holds, or the next free one. Problems become a Warning Event plus a `CloudError`, so
 * the Service gets no address and is retried, while other Services are unaffected.
 */
import type { V1Service } from '@kubernetes/client-node';
import { CloudError } from '../../contract/errors.js';
import type { CallContext } from '../../contract/provider.js';
import { quote } from '../../contract/quote.js';
import type { AddressPool } from './address-pool.js';

export function allocateAddress(
  pool: AddressPool,
  ctx: CallContext,
  service: Readonly<V1Service>,
  requestedIP: string | undefined,
): string {
  const uid = service.metadata!.uid!;
  if (requestedIP !== undefined) {
    const result = pool.claim(uid, requestedIP);
    if (result === 'claimed') return requestedIP;
    const message =
      result === 'taken'
        ? `requested address ${quote(requestedIP)} is already in use by another Service`
        : `requested address ${quote(requestedIP)} is not in the address pool`;
    ctx.recordEvent('Warning', 'LoadBalancerIPNotAvailable', message);
    throw new CloudError(message, {
      operation: 'AllocateAddress',
      cloudCode: result === 'taken' ? 'AddressInUse' : 'AddressOutsidePool',
      retryable: true,
    });
  }
  const held = pool.addressOf(uid);
  if (held) return held;
  // The status may name an address the pool has not seen (a Service synced before the rebuild).
  for (const ingress of service.status?.loadBalancer?.ingress ?? []) {
    if (ingress.ip && pool.claim(uid, ingress.ip) === 'claimed') return ingress.ip;
  }
  const fresh = pool.allocate(uid);
  if (fresh) return fresh;
  const message = `address pool exhausted: all ${pool.size} addresses are in use`;
  ctx.recordEvent('Warning', 'AddressPoolExhausted', message);
  throw new CloudError(message, {
    operation: 'AllocateAddress',
    cloudCode: 'PoolExhausted',
    retryable: true,
  });
}
