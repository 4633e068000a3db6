import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { contract, expectStatus } from './support/contract.js';
import { mergePatch, strategicPatch, type Target } from './support/targets.js';

const twoPorts = (name: string): V1Service => ({
  metadata: { name, labels: { keep: 'yes', drop: 'yes' }, finalizers: ['example.com/a'] },
  spec: {
    type: 'ClusterIP',
    ports: [
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 as never },
      { name: 'https', port: 443, protocol: 'TCP', targetPort: 8443 as never },
    ],
  },
});
const create = (t: Target, name: string) =>
  t.core.createNamespacedService({ namespace: t.ns, body: twoPorts(name) });
const smp = (t: Target, name: string, body: object) =>
  t.core.patchNamespacedService({ name, namespace: t.ns, body }, strategicPatch);
const targets = (svc: V1Service) => svc.spec!.ports!.map((p) => `${p.port}->${p.targetPort}`);

contract('Patches', [
  {
    desc: 'JSON patch is what client-node sends by default',
    async run(t) {
      const name = t.name('jp');
      await create(t, name);
      const svc = await t.core.patchNamespacedService({
        name,
        namespace: t.ns,
        body: [
          { op: 'replace', path: '/metadata/labels/keep', value: 'changed' },
          { op: 'add', path: '/metadata/annotations', value: { a: 'b' } },
        ],
      });
      assert.equal(svc.metadata!.labels!.keep, 'changed');
      assert.deepEqual({ ...svc.metadata!.annotations }, { a: 'b' });
    },
  },
  {
    desc: 'a JSON patch whose test fails is a 422',
    async run(t) {
      const name = t.name('jptest');
      await create(t, name);
      await expectStatus(
        t.core.patchNamespacedService({
          name,
          namespace: t.ns,
          body: [{ op: 'test', path: '/metadata/labels/keep', value: 'no' }],
        }),
        422,
        'Invalid',
      );
    },
  },
  {
    desc: 'a merge patch replaces lists and deletes with null',
    async run(t) {
      const name = t.name('mp');
      await create(t, name);
      const svc = await t.core.patchNamespacedService(
        {
          name,
          namespace: t.ns,
          body: {
            metadata: { labels: { drop: null } },
            spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 9090 }] },
          },
        },
        mergePatch,
      );
      assert.deepEqual({ ...svc.metadata!.labels }, { keep: 'yes' });
      assert.deepEqual(targets(svc), ['80->9090']);
    },
  },
  {
    desc: 'a strategic merge patch merges ports by port number',
    async run(t) {
      const name = t.name('smp');
      await create(t, name);
      const svc = await smp(t, name, { spec: { ports: [{ port: 443, targetPort: 9443 }] } });
      assert.deepEqual(targets(svc), ['80->8080', '443->9443']);
    },
  },
  {
    desc: 'a strategic merge patch deletes a port with $patch: delete',
    async run(t) {
      const name = t.name('smpdel');
      await create(t, name);
      const svc = await smp(t, name, { spec: { ports: [{ port: 80, $patch: 'delete' }] } });
      assert.deepEqual(targets(svc), ['443->8443']);
    },
  },
  {
    desc: 'a strategic merge patch adds to finalizers as a set and removes with $deleteFromPrimitiveList',
    async run(t) {
      const name = t.name('smpfin');
      await create(t, name);
      const added = await smp(t, name, {
        metadata: { finalizers: ['example.com/b', 'example.com/a'] },
      });
      // The patch's order wins for the items it names (normalizeElementOrder).
      assert.deepEqual(added.metadata!.finalizers, ['example.com/b', 'example.com/a']);
      const removed = await smp(t, name, {
        metadata: { '$deleteFromPrimitiveList/finalizers': ['example.com/a'] },
      });
      assert.deepEqual(removed.metadata!.finalizers, ['example.com/b']);
    },
  },
  {
    desc: 'a strategic merge patch on /status replaces the ingress list',
    async run(t) {
      const name = t.name('smpstatus');
      await t.core.createNamespacedService({
        namespace: t.ns,
        body: { metadata: { name }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
      });
      const patchStatus = (ingress: object[]) =>
        t.core.patchNamespacedServiceStatus(
          { name, namespace: t.ns, body: { status: { loadBalancer: { ingress } } } },
          strategicPatch,
        );
      await patchStatus([{ ip: '192.0.2.1' }, { ip: '192.0.2.2' }]);
      const svc = await patchStatus([{ ip: '192.0.2.3' }]);
      assert.deepEqual(
        svc.status!.loadBalancer!.ingress!.map((i) => i.ip),
        ['192.0.2.3'],
      );
    },
  },
  {
    desc: 'a patch of a missing object is a 404 and a malformed patch a 400',
    async run(t) {
      await expectStatus(
        t.core.patchNamespacedService(
          { name: t.name('nope'), namespace: t.ns, body: { metadata: {} } },
          mergePatch,
        ),
        404,
        'NotFound',
      );
      const name = t.name('bad');
      await create(t, name);
      await expectStatus(
        t.core.patchNamespacedService({ name, namespace: t.ns, body: { op: 'add' } }),
        400,
        'BadRequest',
      );
    },
  },
]);
