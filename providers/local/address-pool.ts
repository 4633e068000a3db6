/**
 * The pool of load-balancer addresses: CIDRs and `a-b` ranges from the cloud-config. It is only a
 * cache of what Service statuses say: after a restart it is rebuilt from every Service's
 * `status.loadBalancer.ingress`, so an address is never handed to two Services.
 */
import type { V1Service } from '@kubernetes/client-node';
import { inRanges, intToIp, ipToInt, type IpRange } from './ipv4.js';
import { isIPv4 } from 'node:net';

export type ClaimResult = 'claimed' | 'outside-pool' | 'taken';

export class AddressPool {
  readonly #ranges: readonly IpRange[];
  /** address (as integer) -> owner (Service UID), and back. */
  readonly #owners = new Map<number, string>();
  readonly #addresses = new Map<string, number>();

  constructor(ranges: readonly IpRange[]) {
    this.#ranges = ranges;
  }

  get size(): number {
    return this.#ranges.reduce((n, r) => n + (r.last - r.first + 1), 0);
  }

  get allocated(): number {
    return this.#owners.size;
  }

  contains(ip: string): boolean {
    return isIPv4(ip) && inRanges(this.#ranges, ipToInt(ip));
  }

  addressOf(owner: string): string | undefined {
    const n = this.#addresses.get(owner);
    return n === undefined ? undefined : intToIp(n);
  }

  ownerOf(ip: string): string | undefined {
    return isIPv4(ip) ? this.#owners.get(ipToInt(ip)) : undefined;
  }

  /**
   * Gives `ip` to `owner` if it is in the pool and free (or already theirs). An owner holds one
   * address: claiming another releases the first.
   */
  claim(owner: string, ip: string): ClaimResult {
    if (!this.contains(ip)) return 'outside-pool';
    const n = ipToInt(ip);
    const holder = this.#owners.get(n);
    if (holder === owner) return 'claimed';
    if (holder !== undefined) return 'taken';
    this.release(owner);
    this.#owners.set(n, owner);
    this.#addresses.set(owner, n);
    return 'claimed';
  }

  /** The owner's address, or the lowest free one; `undefined` when the pool is exhausted. */
  allocate(owner: string): string | undefined {
    const held = this.addressOf(owner);
    if (held) return held;
    for (const range of this.#ranges) {
      for (let n = range.first; n <= range.last; n++) {
        if (!this.#owners.has(n)) {
          this.#owners.set(n, owner);
          this.#addresses.set(owner, n);
          return intToIp(n);
        }
      }
    }
    return undefined;
  }

  release(owner: string): string | undefined {
    const n = this.#addresses.get(owner);
    if (n === undefined) return undefined;
    this.#addresses.delete(owner);
    this.#owners.delete(n);
    return intToIp(n);
  }

  /**
   * Records every pool address already published in a Service's status. Services are taken
   * oldest first, so if two statuses ever named the same address the older one keeps it.
   */
  rebuild(services: readonly Readonly<V1Service>[]): void {
    const byAge = [...services].sort((a, b) => created(a) - created(b));
    for (const svc of byAge) {
      const uid = svc.metadata?.uid;
      if (!uid || svc.spec?.type !== 'LoadBalancer') continue;
      for (const ingress of svc.status?.loadBalancer?.ingress ?? []) {
        if (ingress.ip && this.claim(uid, ingress.ip) === 'claimed') break;
      }
    }
  }
}

function created(svc: Readonly<V1Service>): number {
  const ts = svc.metadata?.creationTimestamp;
  return ts ? new Date(ts).getTime() : 0;
}
