import assert from 'node:assert/strict';
import type { V1Node } from '@kubernetes/client-node';
import { contract, expectStatus } from './support/contract.js';
import { strategicPatch } from './support/targets.js';

/** client-node's model classes as the JSON they stand for, to compare with literals. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

const EMPTY_NODE_INFO = {
  architecture: '',
  bootID: '',
  containerRuntimeVersion: '',
  kernelVersion: '',
  kubeProxyVersion: '',
  kubeletVersion: '',
  machineID: '',
  operatingSystem: '',
  osImage: '',
  systemUUID: '',
};

contract('Nodes: admission, defaults and update rules', [
  {
    desc: 'a new Node gets the not-ready NoSchedule taint and an empty status written out',
    async run(t) {
      const name = t.name('bare');
      t.ownNode(name);
      const created = await t.core.createNode({
        body: { metadata: { name }, spec: { providerID: `fake://${name}` } },
      });
      assert.deepEqual(plain(created.spec), {
        providerID: `fake://${name}`,
        taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }],
      });
      // client-node maps the wire's `Port` to `port`: read the raw JSON instead.
      const raw = JSON.parse(await t.kubectl('get', '--raw', `/api/v1/nodes/${name}`));
      assert.deepEqual(raw.status, {
        daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
        nodeInfo: EMPTY_NODE_INFO,
      });
    },
  },
  {
    desc: 'a Node that already has the not-ready taint keeps exactly one',
    async run(t) {
      const name = t.name('tainted');
      t.ownNode(name);
      const taints = [
        { key: 'example.com/dedicated', value: 'lb', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' },
      ];
      const created = await t.core.createNode({ body: { metadata: { name }, spec: { taints } } });
      assert.deepEqual(plain(created.spec!.taints), taints);
    },
  },
  {
    desc: 'a condition patched in without times reads back with null heartbeat and transition times',
    async run(t) {
      const name = t.name('cond');
      t.ownNode(name);
      await t.core.createNode({ body: { metadata: { name } } });
      await t.core.patchNodeStatus(
        { name, body: { status: { conditions: [{ type: 'Ready', status: 'True' }] } } },
        strategicPatch,
      );
      const raw = JSON.parse(await t.kubectl('get', '--raw', `/api/v1/nodes/${name}`));
      assert.deepEqual(raw.status.conditions, [
        { type: 'Ready', status: 'True', lastHeartbeatTime: null, lastTransitionTime: null },
      ]);
    },
  },
  {
    desc: 'changing a set providerID is a 422 with the providerID cause and the catch-all one',
    async run(t) {
      const name = t.name('pid');
      t.ownNode(name);
      const created = await t.core.createNode({
        body: { metadata: { name }, spec: { providerID: 'fake://a' } },
      });
      const body: V1Node = { ...created, spec: { ...created.spec, providerID: 'fake://b' } };
      const status = await expectStatus(t.core.replaceNode({ name, body }), 422, 'Invalid');
      assert.deepEqual(status.details, {
        name,
        kind: 'Node',
        causes: [
          {
            reason: 'FieldValueForbidden',
            message: 'Forbidden: node updates may not change providerID except from "" to valid',
            field: 'spec.providerID',
          },
          {
            reason: 'FieldValueForbidden',
            message:
              'Forbidden: node updates may only change labels, taints, or capacity (or configSource, if the DynamicKubeletConfig feature gate is enabled)',
            field: '[]',
          },
        ],
      });
    },
  },
  {
    desc: 'setting an unset providerID, taints and unschedulable is allowed',
    async run(t) {
      const name = t.name('allowed');
      t.ownNode(name);
      const created = await t.core.createNode({ body: { metadata: { name } } });
      const updated = await t.core.replaceNode({
        name,
        body: {
          ...created,
          spec: { providerID: 'fake://set', unschedulable: true, taints: [] },
        },
      });
      assert.equal(updated.spec!.providerID, 'fake://set');
      assert.equal(updated.spec!.unschedulable, true);
    },
  },
]);
