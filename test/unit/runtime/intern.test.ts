import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { internServiceStrings } from '../../../runtime/intern.js';

describe('internServiceStrings', () => {
  it('changes no value of a Service, whatever it holds', () => {
    const text = JSON.stringify({
      metadata: { name: 'web', finalizers: ['service.kubernetes.io/load-balancer-cleanup'] },
      spec: {
        type: 'LoadBalancer',
        ipFamilyPolicy: 'SingleStack',
        ipFamilies: ['IPv4'],
        sessionAffinity: 'None',
        externalTrafficPolicy: 'Cluster',
        ports: [
          { port: 80, protocol: 'TCP' },
          { port: 53, protocol: 'UDP' },
        ],
      },
      status: {
        conditions: [{ type: 'LoadBalancerReady', status: 'True', reason: 'Ready' }],
        loadBalancer: { ingress: [{ ip: '127.0.0.9', ipMode: 'VIP' }] },
      },
    });
    const svc = JSON.parse(text) as V1Service;
    assert.deepEqual(internServiceStrings(svc), JSON.parse(text));
    assert.deepEqual(internServiceStrings({}), {});
    assert.deepEqual(internServiceStrings({ spec: {} }), { spec: {} });
  });
});
