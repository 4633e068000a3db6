import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { before121, contract, expectStatus } from './support/contract.js';
import { mergePatch, type Target } from './support/targets.js';

const lb = (name: string, spec: Record<string, unknown> = {}): V1Service => ({
  metadata: { name },
  spec: {
    type: 'LoadBalancer',
    selector: { app: name },
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    ...spec,
  },
});

const create = (t: Target, body: V1Service) =>
  t.core.createNamespacedService({ namespace: t.ns, body });
const get = (t: Target, name: string) => t.core.readNamespacedService({ name, namespace: t.ns });
const patch = (t: Target, name: string, body: object) =>
  t.core.patchNamespacedService({ name, namespace: t.ns, body }, mergePatch);
/** client-node hands back class instances; compare their JSON. */
const plain = (v: unknown) => JSON.parse(JSON.stringify(v ?? null));
const inRange = (p: number | undefined) => p !== undefined && p >= 30000 && p <= 32767;

/** A free port in the range: one the server just handed out, given back. */
async function freeNodePort(t: Target): Promise<number> {
  const name = t.name('probe');
  const svc = await create(t, lb(name));
  const port = svc.spec!.ports![0]!.nodePort!;
  await t.core.deleteNamespacedService({ name, namespace: t.ns });
  return port;
}

contract('Services', [
  {
    desc: 'a LoadBalancer Service is defaulted and given a ClusterIP and a NodePort',
    async run(t) {
      const svc = await create(t, lb(t.name('web')));
      const spec = svc.spec!;
      assert.equal(spec.sessionAffinity, 'None');
      assert.equal(spec.externalTrafficPolicy, 'Cluster');
      assert.equal(spec.ports![0]!.protocol, 'TCP');
      assert.equal(spec.ports![0]!.targetPort, 80);
      assert.ok(inRange(spec.ports![0]!.nodePort), `nodePort ${spec.ports![0]!.nodePort}`);
      assert.match(spec.clusterIP!, /^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
      assert.deepEqual(spec.clusterIPs, [spec.clusterIP]);
      assert.deepEqual(plain(svc.status), { loadBalancer: {} });
      assert.ok(
        svc.metadata!.uid && svc.metadata!.resourceVersion && svc.metadata!.creationTimestamp,
      );
    },
  },
  {
    desc: 'Services carry no metadata.generation, on create or after a spec change',
    async run(t) {
      const name = t.name('gen');
      const svc = await create(t, lb(name));
      assert.equal(svc.metadata!.generation, undefined);
      const changed = await patch(t, name, { spec: { sessionAffinity: 'ClientIP' } });
      assert.equal(changed.metadata!.generation, undefined);
    },
  },
  {
    desc: 'a NodePort already taken is a 422 naming spec.ports[0].nodePort',
    async run(t) {
      const first = await create(t, lb(t.name('a')));
      const taken = first.spec!.ports![0]!.nodePort!;
      const name = t.name('b');
      const status = await expectStatus(
        create(t, lb(name, { ports: [{ port: 80, nodePort: taken }] })),
        422,
        'Invalid',
      );
      assert.equal(status.details!.kind, 'Service');
      assert.equal(status.details!.name, name);
      assert.equal(status.details!.causes![0]!.field, 'spec.ports[0].nodePort');
      assert.match(
        status.message!,
        new RegExp(
          `spec.ports\\[0\\].nodePort: Invalid value: ${taken}: provided port is already allocated`,
        ),
      );
    },
  },
  {
    desc: 'a NodePort outside the range is a 422 naming the range',
    async run(t) {
      const status = await expectStatus(
        create(t, lb(t.name('out'), { ports: [{ port: 80, nodePort: 40000 }] })),
        422,
        'Invalid',
      );
      assert.match(
        status.message!,
        /provided port is not in the valid range\. The range of valid ports is 30000-32767/,
      );
    },
  },
  {
    desc: 'TCP and UDP on the same port share one NodePort',
    async run(t) {
      const svc = await create(t, {
        metadata: { name: t.name('dns') },
        spec: {
          type: 'NodePort',
          ports: [
            { name: 'tcp', port: 53, protocol: 'TCP' },
            { name: 'udp', port: 53, protocol: 'UDP' },
          ],
        },
      });
      const [a, b] = svc.spec!.ports!;
      assert.ok(inRange(a!.nodePort));
      assert.equal(a!.nodePort, b!.nodePort);
    },
  },
  {
    desc: 'allocateLoadBalancerNodePorts: false gets no NodePorts',
    async run(t) {
      const svc = await create(t, lb(t.name('nonp'), { allocateLoadBalancerNodePorts: false }));
      assert.equal(
        svc.spec!.allocateLoadBalancerNodePorts,
        false,
        'field dropped: ServiceLBNodePortControl is off',
      );
      assert.equal(svc.spec!.ports![0]!.nodePort, undefined);
    },
  },
  {
    desc: 'deleting a Service releases its NodePort',
    async run(t) {
      const port = await freeNodePort(t);
      const svc = await create(t, lb(t.name('again'), { ports: [{ port: 80, nodePort: port }] }));
      assert.equal(svc.spec!.ports![0]!.nodePort, port);
    },
  },
  {
    desc: 'changing LoadBalancer to ClusterIP, clearing the NodePort fields, releases the ports',
    async run(t) {
      const name = t.name('shrink');
      const svc = await create(t, lb(name));
      const port = svc.spec!.ports![0]!.nodePort!;
      const updated = await patch(t, name, {
        spec: {
          type: 'ClusterIP',
          externalTrafficPolicy: null,
          allocateLoadBalancerNodePorts: null,
          ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }],
        },
      });
      assert.equal(updated.spec!.ports![0]!.nodePort, undefined);
      const other = await create(t, lb(t.name('taker'), { ports: [{ port: 80, nodePort: port }] }));
      assert.equal(other.spec!.ports![0]!.nodePort, port);
    },
  },
  {
    desc: 'changing only the type to ClusterIP wipes the NodePorts and traffic policy the user left alone',
    async run(t) {
      const name = t.name('wipe');
      await create(t, lb(name));
      const updated = await patch(t, name, { spec: { type: 'ClusterIP' } });
      assert.equal(updated.spec!.ports![0]!.nodePort, undefined);
      assert.equal(updated.spec!.externalTrafficPolicy, undefined);
    },
  },
  {
    desc: 'LoadBalancer with externalTrafficPolicy Local gets a healthCheckNodePort, released on a switch to Cluster',
    async run(t) {
      const name = t.name('local');
      const svc = await create(t, lb(name, { externalTrafficPolicy: 'Local' }));
      const hc = svc.spec!.healthCheckNodePort!;
      assert.ok(inRange(hc), `healthCheckNodePort ${hc}`);
      const cluster = await patch(t, name, { spec: { externalTrafficPolicy: 'Cluster' } });
      assert.equal(cluster.spec!.healthCheckNodePort, undefined);
      const reuse = await create(t, lb(t.name('reuse'), { ports: [{ port: 80, nodePort: hc }] }));
      assert.equal(reuse.spec!.ports![0]!.nodePort, hc);
    },
  },
  {
    desc: 'externalTrafficPolicy on a ClusterIP Service is a 422',
    async run(t) {
      const status = await expectStatus(
        create(t, lb(t.name('cip'), { type: 'ClusterIP', externalTrafficPolicy: 'Cluster' })),
        422,
        'Invalid',
      );
      assert.equal(status.details!.causes![0]!.field, 'spec.externalTrafficPolicy');
    },
  },
  {
    desc: 'an invalid loadBalancerSourceRanges entry, in the field or the annotation, is a 422',
    async run(t) {
      const field = await expectStatus(
        create(t, lb(t.name('src'), { loadBalancerSourceRanges: ['10.0.0.0/8', '300.1.2.3/40'] })),
        422,
        'Invalid',
      );
      // The capital L is the real server's, a historical accident; 1.20 leaves out the index.
      assert.match(field.details!.causes![0]!.field!, /^spec\.LoadBalancerSourceRanges/);
      const key = 'service.beta.kubernetes.io/load-balancer-source-ranges';
      const name = t.name('srcann');
      const annotated = await expectStatus(
        create(t, {
          ...lb(name),
          metadata: { name, annotations: { [key]: '10.0.0.0/8,300.1.2.3/40' } },
        }),
        422,
        'Invalid',
      );
      assert.equal(annotated.details!.causes![0]!.field, `metadata.annotations[${key}]`);
    },
  },
  {
    desc: 'clusterIP None is allowed for ClusterIP and refused for LoadBalancer',
    async run(t) {
      const headless = await create(
        t,
        lb(t.name('headless'), { type: 'ClusterIP', clusterIP: 'None' }),
      );
      assert.equal(headless.spec!.clusterIP, 'None');
      await expectStatus(create(t, lb(t.name('headlb'), { clusterIP: 'None' })), 422, 'Invalid');
    },
  },
  {
    desc: 'ExternalName gets no ClusterIP, and switching to it drops the one it had',
    async run(t) {
      const ext = await create(t, {
        metadata: { name: t.name('ext') },
        spec: { type: 'ExternalName', externalName: 'example.com' },
      });
      assert.equal(ext.spec!.clusterIP, undefined);
      const name = t.name('toext');
      await create(t, lb(name, { type: 'ClusterIP' }));
      const switched = await patch(t, name, {
        spec: { type: 'ExternalName', externalName: 'example.com' },
      });
      assert.equal(switched.spec!.clusterIP, undefined);
    },
  },
  {
    desc: 'the ClusterIP cannot change once set',
    async run(t) {
      const name = t.name('fixed');
      const svc = await create(t, lb(name, { type: 'ClusterIP' }));
      const other = svc.spec!.clusterIP === '10.100.100.100' ? '10.100.100.101' : '10.100.100.100';
      await expectStatus(
        patch(t, name, { spec: { clusterIP: other, clusterIPs: [other] } }),
        422,
        'Invalid',
      );
    },
  },
  {
    desc: 'a spec write ignores status and a status write ignores spec',
    async run(t) {
      const name = t.name('split');
      await create(t, lb(name));
      const ingress = [{ ip: '192.0.2.10' }];
      const specWrite = await patch(t, name, {
        spec: { sessionAffinity: 'ClientIP' },
        status: { loadBalancer: { ingress } },
      });
      assert.deepEqual(plain(specWrite.status), { loadBalancer: {} });
      const statusWrite = await t.core.patchNamespacedServiceStatus(
        {
          name,
          namespace: t.ns,
          body: { spec: { sessionAffinity: 'None' }, status: { loadBalancer: { ingress } } },
        },
        mergePatch,
      );
      assert.equal(statusWrite.spec!.sessionAffinity, 'ClientIP');
      assert.equal(statusWrite.status!.loadBalancer!.ingress![0]!.ip, '192.0.2.10');
    },
  },
  {
    desc: 'a status write keeps the metadata it carries: only spec is reset',
    async run(t) {
      const name = t.name('statusmeta');
      await create(t, lb(name));
      const svc = await t.core.patchNamespacedServiceStatus(
        {
          name,
          namespace: t.ns,
          body: { metadata: { labels: { via: 'status' } }, status: { loadBalancer: {} } },
        },
        mergePatch,
      );
      assert.equal(svc.metadata!.labels!.via, 'status');
    },
  },
  {
    desc: 'a status write with a stale resourceVersion is a 409 Conflict',
    async run(t) {
      const name = t.name('stalestatus');
      const svc = await create(t, lb(name));
      await patch(t, name, { metadata: { labels: { bump: '1' } } });
      await expectStatus(
        t.core.replaceNamespacedServiceStatus({
          name,
          namespace: t.ns,
          body: { ...svc, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } },
        }),
        409,
        'Conflict',
      );
    },
  },
  {
    desc: 'status.loadBalancer.ingress[].ipMode is defaulted to VIP for an IP',
    skip: (t) => (t.minor < 29 ? `${t.gitVersion} predates ipMode (1.29+)` : undefined),
    async run(t) {
      const name = t.name('ipmode');
      await create(t, lb(name));
      const svc = await t.core.patchNamespacedServiceStatus(
        {
          name,
          namespace: t.ns,
          body: {
            status: {
              loadBalancer: { ingress: [{ ip: '192.0.2.2' }, { hostname: 'lb.example.com' }] },
            },
          },
        },
        mergePatch,
      );
      assert.deepEqual(plain(svc.status!.loadBalancer!.ingress), [
        { ip: '192.0.2.2', ipMode: 'VIP' },
        { hostname: 'lb.example.com' },
      ]);
    },
  },
  {
    desc: 'changing the type away from LoadBalancer clears status.loadBalancer',
    skip: (t) =>
      t.minor < 22
        ? `${t.gitVersion} keeps the stale status (cleared since dropTypeDependentFields grew it)`
        : undefined,
    async run(t) {
      const name = t.name('unlb');
      await create(t, lb(name));
      await t.core.patchNamespacedServiceStatus(
        {
          name,
          namespace: t.ns,
          body: { status: { loadBalancer: { ingress: [{ ip: '192.0.2.3' }] } } },
        },
        mergePatch,
      );
      const svc = await patch(t, name, {
        spec: {
          type: 'ClusterIP',
          externalTrafficPolicy: null,
          allocateLoadBalancerNodePorts: null,
          ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }],
        },
      });
      assert.deepEqual(plain(svc.status), { loadBalancer: {} });
    },
  },
  {
    desc: 'loadBalancerClass is kept, and cannot change once set',
    skip: before121,
    async run(t) {
      const name = t.name('class');
      const svc = await create(t, lb(name, { loadBalancerClass: 'example.com/lb' }));
      assert.equal(svc.spec!.loadBalancerClass, 'example.com/lb');
      await expectStatus(
        patch(t, name, { spec: { loadBalancerClass: 'example.com/other' } }),
        422,
        'Invalid',
      );
    },
  },
  {
    desc: 'a PUT to a missing name creates the Service',
    skip: (t) =>
      t.minor < 23
        ? `${t.gitVersion}'s own Service REST answers 404 (create-on-update since the 1.23 rewrite)`
        : undefined,
    async run(t) {
      const name = t.name('put');
      const svc = await t.core.replaceNamespacedService({ name, namespace: t.ns, body: lb(name) });
      assert.ok(svc.metadata!.uid);
      assert.equal((await get(t, name)).metadata!.uid, svc.metadata!.uid);
    },
  },
]);
