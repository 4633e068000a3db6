import assert from 'node:assert/strict';
import { desiredLoadBalancer } from '../../../../providers/aws/desired.js';
import { annotation } from '../../../../providers/aws/annotations.js';
import { frontendNodeRules, nodeAccessRules } from '../../../../providers/aws/node-access.js';
import {
  newService,
  tweakAnnotations,
  tweakLocalTraffic,
  tweakPorts,
} from '../../../fixtures/builders.js';

describe('aws node access rules', () => {
  const cases = [
    { desc: 'a TCP port: its NodePort', svc: newService('web'), want: ['tcp|30080'] },
    {
      desc: 'TCP and UDP on one port: both protocols on the NodePort',
      svc: newService(
        'dns',
        tweakPorts(
          { port: 53, protocol: 'UDP', nodePort: 30053 },
          { port: 53, protocol: 'TCP', nodePort: 30053 },
        ),
      ),
      want: ['tcp|30053', 'udp|30053'],
    },
    {
      desc: 'UDP alone: the NodePort, and kube-proxy for the health check',
      svc: newService('dns', tweakPorts({ port: 53, protocol: 'UDP', nodePort: 30053 })),
      want: ['tcp|10256', 'udp|30053'],
    },
    {
      desc: 'externalTrafficPolicy Local: the NodePort and the health-check NodePort',
      svc: newService('web', tweakLocalTraffic(32000)),
      want: ['tcp|30080', 'tcp|32000'],
    },
  ];
  for (const c of cases) {
    it(`opens ${c.desc}`, () => {
      assert.deepEqual([...nodeAccessRules(desiredLoadBalancer('prod', c.svc))].sort(), c.want);
    });
  }
});

describe('aws node rules the backend group does not cover', () => {
  const cases = [
    { desc: 'NodePorts in the default range: none', svc: newService('web'), want: [] },
    {
      desc: 'UDP with the kube-proxy health check: none',
      svc: newService('dns', tweakPorts({ port: 53, protocol: 'UDP', nodePort: 30053 })),
      want: [],
    },
    {
      desc: 'a NodePort outside 30000-32767 (a cluster with another range): that port',
      svc: newService('web', tweakPorts({ port: 80, protocol: 'TCP', nodePort: 40080 })),
      want: ['tcp|40080'],
    },
    {
      desc: 'a health-check port set by annotation outside the range: that port',
      svc: newService('web', tweakAnnotations({ [annotation.hcPort]: '8080' })),
      want: ['tcp|8080'],
    },
  ];
  for (const c of cases) {
    it(`keeps per Service ${c.desc}`, () => {
      assert.deepEqual([...frontendNodeRules(desiredLoadBalancer('prod', c.svc))].sort(), c.want);
    });
  }
});
