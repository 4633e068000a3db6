import assert from 'node:assert/strict';
import type { V1LoadBalancerIngress } from '@kubernetes/client-node';
import { sameIngress } from '../../../../controllers/service/status.js';

describe('sameIngress', () => {
  const cases: {
    desc: string;
    a: V1LoadBalancerIngress[];
    b: V1LoadBalancerIngress[];
    want: boolean;
  }[] = [
    { desc: 'two empty lists', a: [], b: [], want: true },
    {
      desc: 'the same address and mode',
      a: [{ ip: '192.0.2.1', ipMode: 'VIP' }],
      b: [{ ip: '192.0.2.1', ipMode: 'VIP' }],
      want: true,
    },
    {
      // Kubernetes before 1.29 drops ipMode from what the controller writes.
      desc: 'an address whose ipMode the server dropped',
      a: [{ ip: '192.0.2.1' }],
      b: [{ ip: '192.0.2.1', ipMode: 'VIP' }],
      want: true,
    },
    {
      desc: 'two different modes',
      a: [{ ip: '192.0.2.1', ipMode: 'Proxy' }],
      b: [{ ip: '192.0.2.1', ipMode: 'VIP' }],
      want: false,
    },
    {
      desc: 'another address',
      a: [{ ip: '192.0.2.1' }],
      b: [{ ip: '192.0.2.2', ipMode: 'VIP' }],
      want: false,
    },
    {
      desc: 'a hostname for an address',
      a: [{ hostname: 'lb.example.com' }],
      b: [{ ip: '192.0.2.1' }],
      want: false,
    },
    {
      desc: 'one address more',
      a: [{ ip: '192.0.2.1' }],
      b: [{ ip: '192.0.2.1' }, { ip: '192.0.2.2' }],
      want: false,
    },
    {
      desc: 'different ports',
      a: [{ ip: '192.0.2.1', ports: [{ port: 80, protocol: 'TCP' }] }],
      b: [{ ip: '192.0.2.1', ports: [{ port: 443, protocol: 'TCP' }] }],
      want: false,
    },
  ];
  for (const { desc, a, b, want } of cases) {
    it(`${want ? 'matches' : 'tells apart'} ${desc}`, () => {
      assert.equal(sameIngress(a, b), want);
      assert.equal(sameIngress(b, a), want, 'in either order');
    });
  }
});
