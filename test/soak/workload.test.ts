import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { metricSum } from './replicas.js';
import { FINALIZER, tally, type CloudInventory } from './workload.js';

const ready = (name: string, uid: string, tweak: Partial<V1Service['spec']> = {}): V1Service => ({
  metadata: { name, uid, finalizers: [FINALIZER], generation: 2 },
  spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], ...tweak },
  status: {
    loadBalancer: { ingress: [{ ip: '192.0.2.1' }] },
    conditions: [
      {
        type: 'LoadBalancerReady',
        status: 'True',
        reason: 'Ready',
        message: '',
        lastTransitionTime: new Date(),
        observedGeneration: 2,
      },
    ],
  },
});
const lb = (uid: string, ports = ['80/TCP']) => ({ uid, ports, nodes: 3 });

describe('the soak tally', () => {
  const cases: {
    desc: string;
    services: V1Service[];
    deleted?: string[];
    cloud: CloudInventory;
    expected: { converged: number; orphans: number; duplicates: number; stuck: number };
  }[] = [
    {
      desc: 'counts a Ready Service with its one load balancer as converged',
      services: [ready('a', 'u1')],
      cloud: { loadBalancers: [lb('u1')], parts: [] },
      expected: { converged: 1, orphans: 0, duplicates: 0, stuck: 0 },
    },
    {
      desc: 'finds a load balancer left by a deleted Service an orphan',
      services: [],
      deleted: ['a'],
      cloud: { loadBalancers: [lb('u1')], parts: [{ kind: 'target group', uid: 'u1' }] },
      expected: { converged: 0, orphans: 2, duplicates: 0, stuck: 0 },
    },
    {
      desc: 'finds two load balancers of one Service a duplicate',
      services: [ready('a', 'u1')],
      cloud: { loadBalancers: [lb('u1'), lb('u1')], parts: [] },
      expected: { converged: 0, orphans: 0, duplicates: 1, stuck: 0 },
    },
    {
      desc: 'finds a deleted Service still in the API stuck on its finalizer',
      services: [
        {
          ...ready('a', 'u1'),
          metadata: { ...ready('a', 'u1').metadata, deletionTimestamp: new Date() },
        },
      ],
      deleted: ['a'],
      cloud: { loadBalancers: [], parts: [] },
      expected: { converged: 0, orphans: 0, duplicates: 0, stuck: 1 },
    },
    {
      desc: 'wants a Service turned ClusterIP without load balancer or finalizer',
      services: [{ ...ready('a', 'u1', { type: 'ClusterIP' }) }],
      cloud: { loadBalancers: [lb('u1')], parts: [] },
      expected: { converged: 0, orphans: 1, duplicates: 0, stuck: 0 },
    },
    {
      desc: 'wants the cloud ports to follow the Service',
      services: [ready('a', 'u1', { ports: [{ port: 8080, protocol: 'TCP' }] })],
      cloud: { loadBalancers: [lb('u1')], parts: [] },
      expected: { converged: 0, orphans: 0, duplicates: 0, stuck: 0 },
    },
  ];
  for (const c of cases) {
    it(c.desc, () => {
      const uids = new Map([['a', 'u1']]);
      const t = tally(c.services, uids, new Set(c.deleted ?? []), c.cloud, 3);
      const { converged, orphans, duplicates, stuck } = t;
      assert.deepEqual({ converged, orphans, duplicates, stuck }, c.expected);
    });
  }

  it('sums every series of a counter from Prometheus text', () => {
    const text = [
      '# HELP kube_lbc_cloud_api_calls_total x',
      'kube_lbc_cloud_api_calls_total{operation="Get",outcome="success"} 12',
      'kube_lbc_cloud_api_calls_total{operation="Create",outcome="error"} 3',
      'kube_lbc_cloud_api_calls_totally 99',
    ].join('\n');
    assert.equal(metricSum(text, 'kube_lbc_cloud_api_calls_total'), 15);
  });
});
