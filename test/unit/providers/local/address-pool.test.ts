import assert from 'node:assert/strict';
import { AddressPool } from '../../../../providers/local/address-pool.js';
import { parseRange, type IpRange } from '../../../../providers/local/ipv4.js';
import { newService } from '../../../fixtures/builders.js';

function ranges(...texts: string[]): IpRange[] {
  return texts.map((t) => {
    const r = parseRange(t);
    if (typeof r === 'string') throw new Error(r);
    return r;
  });
}

describe('local AddressPool', () => {
  it('parses CIDRs (host addresses only), a-b ranges and single addresses', () => {
    assert.equal(new AddressPool(ranges('10.0.0.0/30')).size, 2);
    assert.equal(new AddressPool(ranges('10.0.0.0/31')).size, 2);
    assert.equal(new AddressPool(ranges('10.0.0.5-10.0.0.9')).size, 5);
    assert.equal(new AddressPool(ranges('10.0.0.7', '10.0.1.0/24')).size, 255);
    assert.match(String(parseRange('10.0.0.9-10.0.0.5')), /ends before it starts/);
    assert.match(String(parseRange('fe80::/64')), /not an IPv4 CIDR/);
    // An empty or odd prefix length is a typo, not /0 (the whole IPv4 space as a pool).
    for (const typo of ['10.0.0.0/', '10.0.0.0/ 8', '10.0.0.0/0x8', '10.0.0.0/8.0'])
      assert.match(String(parseRange(typo)), /not an IPv4 CIDR/, typo);
  });

  it('hands out the lowest free address and never one address to two owners', () => {
    const pool = new AddressPool(ranges('127.240.0.1-127.240.0.2', '127.240.1.0/31'));
    assert.equal(pool.allocate('a'), '127.240.0.1');
    assert.equal(pool.allocate('a'), '127.240.0.1', 'an owner keeps its address');
    assert.equal(pool.allocate('b'), '127.240.0.2');
    assert.equal(pool.allocate('c'), '127.240.1.0', 'moves on to the next range');
    assert.equal(pool.allocate('d'), '127.240.1.1');
    assert.equal(pool.allocate('e'), undefined, 'exhausted');
    assert.equal(pool.release('b'), '127.240.0.2');
    assert.equal(pool.allocate('e'), '127.240.0.2', 'a released address is reused');
  });

  it('claims a requested address only when it is free and in the pool', () => {
    const pool = new AddressPool(ranges('127.240.0.0/29'));
    assert.equal(pool.claim('a', '127.240.0.5'), 'claimed');
    assert.equal(pool.claim('a', '127.240.0.5'), 'claimed', 'claiming again is a no-op');
    assert.equal(pool.claim('b', '127.240.0.5'), 'taken');
    assert.equal(pool.claim('b', '10.0.0.1'), 'outside-pool');
    assert.equal(pool.addressOf('b'), undefined);
    assert.equal(pool.claim('a', '127.240.0.6'), 'claimed', 'moving to another address');
    assert.equal(pool.ownerOf('127.240.0.5'), undefined, 'frees the first');
  });

  it('rebuilds from Service statuses, the older Service winning a duplicate', () => {
    const withIp = (name: string, ip: string, created: string) =>
      newService(name, (s) => {
        s.metadata!.creationTimestamp = new Date(created);
        s.status = { loadBalancer: { ingress: [{ ip }] } };
      });
    const older = withIp('older', '127.240.0.3', '2026-01-01T00:00:00Z');
    const newer = withIp('newer', '127.240.0.3', '2026-02-01T00:00:00Z');
    const other = withIp('other', '127.240.0.4', '2026-03-01T00:00:00Z');
    const outside = withIp('outside', '10.9.9.9', '2026-03-01T00:00:00Z');
    const pool = new AddressPool(ranges('127.240.0.0/29'));
    pool.rebuild([newer, other, older, outside]);
    assert.equal(pool.addressOf(older.metadata!.uid!), '127.240.0.3');
    assert.equal(pool.addressOf(newer.metadata!.uid!), undefined);
    assert.equal(pool.addressOf(other.metadata!.uid!), '127.240.0.4');
    assert.equal(pool.allocated, 2);
  });
});
