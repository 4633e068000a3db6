import assert from 'node:assert/strict';
import { IPAllocator, PortAllocator } from '../../../../sandbox/apiserver/allocators.js';

describe('allocators', () => {
  it('hand out every port of the range once, then report it full', () => {
    const ports = new PortAllocator({ min: 30000, max: 30004 });
    const got = Array.from({ length: 5 }, () => ports.allocateNext()).sort();
    assert.deepEqual(got, [30000, 30001, 30002, 30003, 30004]);
    assert.throws(() => ports.allocateNext(), /range is full/);
    ports.release(30002);
    assert.equal(ports.allocateNext(), 30002);
  });

  it('refuse a taken or out-of-range port with the real messages', () => {
    const ports = new PortAllocator({ min: 30000, max: 30010 });
    ports.allocate(30005);
    assert.throws(() => ports.allocate(30005), /provided port is already allocated/);
    assert.throws(() => ports.allocate(40000), /The range of valid ports is 30000-30010/);
  });

  it('hand out IPs inside the CIDR, never the network or broadcast address', () => {
    const ips = new IPAllocator('10.0.0.0/30');
    assert.equal(ips.first, '10.0.0.1');
    assert.deepEqual([ips.allocateNext(), ips.allocateNext()].sort(), ['10.0.0.1', '10.0.0.2']);
    assert.throws(() => ips.allocateNext(), /range is full/);
    assert.throws(() => ips.allocate('10.0.0.3'), /not in the valid range/);
    assert.throws(() => new IPAllocator('fd00::/64'), /IPv4 CIDR/);
  });
});
