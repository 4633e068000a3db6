import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { collectWatch, contract, expectStatus } from './support/contract.js';
import { mergePatch, type Target } from './support/targets.js';

const FINALIZER = 'example.com/cleanup';
const svc = (name: string, extra: Partial<V1Service['metadata']> = {}): V1Service => ({
  metadata: { name, ...extra },
  spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
});
const create = (t: Target, body: V1Service) =>
  t.core.createNamespacedService({ namespace: t.ns, body });
const get = (t: Target, name: string) => t.core.readNamespacedService({ name, namespace: t.ns });
const patch = (t: Target, name: string, body: object) =>
  t.core.patchNamespacedService({ name, namespace: t.ns, body }, mergePatch);

contract('Writes: concurrency, finalizers, errors', [
  {
    desc: 'an update with a stale resourceVersion is a 409 Conflict',
    async run(t) {
      const name = t.name('stale');
      const first = await create(t, svc(name));
      await patch(t, name, { metadata: { labels: { v: '2' } } });
      const status = await expectStatus(
        t.core.replaceNamespacedService({ name, namespace: t.ns, body: first }),
        409,
        'Conflict',
      );
      assert.match(
        status.message!,
        /Operation cannot be fulfilled on services ".*": the object has been modified; please apply your changes to the latest version and try again/,
      );
      assert.equal(status.details!.kind, 'services');
    },
  },
  {
    desc: 'a merge patch naming a stale resourceVersion is a 409 Conflict',
    async run(t) {
      const name = t.name('stalepatch');
      const first = await create(t, svc(name));
      await patch(t, name, { metadata: { labels: { v: '2' } } });
      await expectStatus(
        patch(t, name, {
          metadata: { resourceVersion: first.metadata!.resourceVersion, labels: { v: '3' } },
        }),
        409,
        'Conflict',
      );
    },
  },
  {
    desc: 'a patch that changes nothing keeps the resourceVersion',
    async run(t) {
      const name = t.name('noop');
      const created = await create(t, svc(name, { labels: { a: 'b' } }));
      const again = await patch(t, name, { metadata: { labels: { a: 'b' } } });
      assert.equal(again.metadata!.resourceVersion, created.metadata!.resourceVersion);
    },
  },
  {
    desc: 'deleting an object with a finalizer marks it; removing the last finalizer removes it, seen as DELETED',
    async run(t) {
      const name = t.name('fin');
      const created = await create(t, svc(name, { finalizers: [FINALIZER] }));
      await t.core.deleteNamespacedService({ name, namespace: t.ns });
      const marked = await get(t, name);
      assert.ok(marked.metadata!.deletionTimestamp, 'deletionTimestamp set');
      assert.deepEqual(marked.metadata!.finalizers, [FINALIZER]);
      const { events } = await collectWatch(
        t,
        `/api/v1/namespaces/${t.ns}/services`,
        {
          resourceVersion: marked.metadata!.resourceVersion!,
          fieldSelector: `metadata.name=${name}`,
        },
        (e) => e.some((x) => x.type === 'DELETED'),
        { started: async () => void (await patch(t, name, { metadata: { finalizers: null } })) },
      );
      // The write that empties the finalizers is never stored: the object goes in one step.
      assert.deepEqual(
        events.map((e) => e.type),
        ['DELETED'],
      );
      assert.equal(events[0]!.object.metadata!.name, name);
      await expectStatus(get(t, name), 404, 'NotFound');
      assert.ok(created.metadata!.uid);
    },
  },
  {
    desc: 'no finalizer can be added to an object being deleted',
    async run(t) {
      const name = t.name('late');
      await create(t, svc(name, { finalizers: [FINALIZER] }));
      await t.core.deleteNamespacedService({ name, namespace: t.ns });
      const status = await expectStatus(
        patch(t, name, { metadata: { finalizers: [FINALIZER, 'example.com/late'] } }),
        422,
        'Invalid',
      );
      assert.equal(status.details!.causes![0]!.field, 'metadata.finalizers');
    },
  },
  {
    desc: 'a delete with a stale resourceVersion precondition is a 409 Conflict',
    async run(t) {
      const name = t.name('precond');
      const first = await create(t, svc(name));
      await patch(t, name, { metadata: { labels: { v: '2' } } });
      await expectStatus(
        t.core.deleteNamespacedService({
          name,
          namespace: t.ns,
          body: { preconditions: { resourceVersion: first.metadata!.resourceVersion } },
        }),
        409,
        'Conflict',
      );
    },
  },
  {
    desc: 'a missing object is a 404 NotFound naming the resource',
    async run(t) {
      const name = t.name('missing');
      const status = await expectStatus(get(t, name), 404, 'NotFound');
      assert.equal(status.message, `services "${name}" not found`);
      assert.deepEqual(
        { name: status.details!.name, kind: status.details!.kind },
        { name, kind: 'services' },
      );
    },
  },
  {
    desc: 'creating a name that exists is a 409 AlreadyExists',
    async run(t) {
      const name = t.name('twice');
      await create(t, svc(name));
      const status = await expectStatus(create(t, svc(name)), 409, 'AlreadyExists');
      assert.equal(status.message, `services "${name}" already exists`);
    },
  },
  {
    desc: 'a body naming another namespace is a 400',
    async run(t) {
      await expectStatus(
        create(t, {
          ...svc(t.name('elsewhere')),
          metadata: { name: t.name('elsewhere'), namespace: 'kube-system' },
        }),
        400,
        'BadRequest',
      );
    },
  },
  {
    desc: 'creating in a namespace that does not exist is a 404 for the namespace',
    async run(t) {
      const ns = `${t.ns}-absent`;
      const status = await expectStatus(
        t.core.createNamespacedService({ namespace: ns, body: svc('x') }),
        404,
        'NotFound',
      );
      assert.equal(status.message, `namespaces "${ns}" not found`);
    },
  },
  {
    desc: 'a merge patch that nulls the last finalizer of a deleting Service answers with the Service without finalizers',
    async run(t) {
      const name = t.name('lastfin');
      await create(t, svc(name, { finalizers: [FINALIZER] }));
      await t.core.deleteNamespacedService({ name, namespace: t.ns });
      const reply = await patch(t, name, { metadata: { finalizers: null } });
      assert.equal(reply.metadata!.name, name);
      assert.ok(reply.metadata!.deletionTimestamp);
      assert.equal(reply.metadata!.finalizers, undefined);
      await expectStatus(get(t, name), 404, 'NotFound');
    },
  },
  {
    desc: 'an invalid name is a 422 naming metadata.name',
    async run(t) {
      const status = await expectStatus(create(t, svc('Not_Valid')), 422, 'Invalid');
      assert.equal(status.details!.causes![0]!.field, 'metadata.name');
    },
  },
  {
    desc: 'a delete answers with the deleted Service',
    skip: (t) =>
      t.minor < 23 ? `${t.gitVersion}'s own Service REST answers with a success Status` : undefined,
    async run(t) {
      const name = t.name('bye');
      await create(t, svc(name));
      const res = (await t.core.deleteNamespacedService({ name, namespace: t.ns })) as {
        kind?: string;
        metadata?: { name?: string };
      };
      assert.equal(res.kind, 'Service');
      assert.equal(res.metadata?.name, name);
    },
  },
]);
