import assert from 'node:assert/strict';
import { contract, expectStatus } from './support/contract.js';
import { mergePatch } from './support/targets.js';

contract('Namespaces: deletion and the NamespaceLifecycle admission', [
  {
    desc: 'a DELETE answers with the Namespace Terminating, without a grace period',
    async run(t) {
      const name = t.name('bye');
      await t.core.createNamespace({ body: { metadata: { name } } });
      // client-node reads a DELETE reply as a Status and would drop the Namespace's fields.
      const reply = JSON.parse(await t.kubectl('delete', '--raw', `/api/v1/namespaces/${name}`));
      assert.equal(reply.kind, 'Namespace');
      assert.equal(reply.status?.phase, 'Terminating');
      assert.ok(reply.metadata?.deletionTimestamp);
      assert.equal(reply.metadata?.deletionGracePeriodSeconds, undefined);
      assert.deepEqual(reply.spec?.finalizers, ['kubernetes']);
    },
  },
  {
    desc: 'a create into a Terminating namespace is a 403 with a NamespaceTerminating cause',
    async run(t) {
      const ns = t.name('dying');
      await t.core.createNamespace({ body: { metadata: { name: ns } } });
      // Content held by a finalizer keeps the namespace Terminating on any server.
      const held = 'held';
      await t.core.createNamespacedService({
        namespace: ns,
        body: {
          metadata: { name: held, finalizers: ['example.com/hold'] },
          spec: { ports: [{ port: 80 }] },
        },
      });
      try {
        await t.core.deleteNamespace({ name: ns });
        const status = await expectStatus(
          t.core.createNamespacedService({
            namespace: ns,
            body: { metadata: { name: 'late' }, spec: { ports: [{ port: 80 }] } },
          }),
          403,
          'Forbidden',
        );
        assert.equal(
          status.message,
          `services "late" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
        );
        assert.deepEqual(status.details, {
          name: 'late',
          kind: 'services',
          causes: [
            {
              reason: 'NamespaceTerminating',
              message: `namespace ${ns} is being terminated`,
              field: 'metadata.namespace',
            },
          ],
        });
      } finally {
        await t.core
          .patchNamespacedService(
            { name: held, namespace: ns, body: { metadata: { finalizers: null } } },
            mergePatch,
          )
          .catch(() => {});
        await t.core.deleteNamespacedService({ name: held, namespace: ns }).catch(() => {});
      }
    },
  },
]);
