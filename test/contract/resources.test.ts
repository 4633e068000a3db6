import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DiscoveryV1Api,
  V1MicroTime,
  type CoreV1Event,
  type EventsV1Event,
  type V1Lease,
  type V1Node,
} from '@kubernetes/client-node';
import { before121, contract, expectStatus } from './support/contract.js';
import { mergePatch, strategicPatch, type Target } from './support/targets.js';

const lease = (name: string): V1Lease => ({
  metadata: { name },
  spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: new V1MicroTime() },
});

const node = (name: string): V1Node => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name } },
  spec: { providerID: `fake://${name}` },
  status: {
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready' }],
    addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
  },
});

const coreEvent = (t: Target, name: string, involvedNamespace: string): CoreV1Event => ({
  metadata: { name },
  involvedObject: { kind: 'Service', namespace: involvedNamespace, name: 'web', apiVersion: 'v1' },
  reason: 'EnsuringLoadBalancer',
  message: 'Ensuring load balancer',
  type: 'Normal',
  source: { component: 'kube-lbc' },
  count: 1,
  firstTimestamp: new Date(),
  lastTimestamp: new Date(),
});

const newEvent = (t: Target, name: string): EventsV1Event => ({
  metadata: { name },
  eventTime: new V1MicroTime(),
  reportingController: 'example.com/kube-lbc',
  reportingInstance: 'kube-lbc-0',
  action: 'EnsureLoadBalancer',
  reason: 'EnsuredLoadBalancer',
  note: 'Ensured load balancer',
  type: 'Normal',
  regarding: { kind: 'Service', namespace: t.ns, name: 'web', apiVersion: 'v1' },
});

contract('Leases, Events, Nodes, Namespaces, EndpointSlices', [
  {
    desc: 'a Lease updates with the version it read, and a stale or missing version is refused',
    async run(t) {
      const name = t.name('leader');
      const created = await t.coordination.createNamespacedLease({
        namespace: t.ns,
        body: lease(name),
      });
      const renewed = await t.coordination.replaceNamespacedLease({
        name,
        namespace: t.ns,
        body: {
          ...created,
          spec: { ...created.spec, holderIdentity: 'b', renewTime: new V1MicroTime() },
        },
      });
      assert.equal(renewed.spec!.holderIdentity, 'b');
      assert.notEqual(renewed.metadata!.resourceVersion, created.metadata!.resourceVersion);
      await expectStatus(
        t.coordination.replaceNamespacedLease({
          name,
          namespace: t.ns,
          body: { ...created, spec: { ...created.spec, holderIdentity: 'c' } },
        }),
        409,
        'Conflict',
      );
      const unversioned = {
        ...renewed,
        metadata: { ...renewed.metadata, resourceVersion: undefined },
      };
      const status = await expectStatus(
        t.coordination.replaceNamespacedLease({ name, namespace: t.ns, body: unversioned }),
        422,
        'Invalid',
      );
      assert.equal(status.details!.causes![0]!.field, 'metadata.resourceVersion');
    },
  },
  {
    desc: 'a Lease time must carry six fraction digits (V1MicroTime, not Date)',
    async run(t) {
      const body = {
        ...lease(t.name('ms')),
        spec: { holderIdentity: 'a', renewTime: new Date() as unknown as V1MicroTime },
      };
      await expectStatus(
        t.coordination.createNamespacedLease({ namespace: t.ns, body }),
        400,
        'BadRequest',
      );
    },
  },
  {
    desc: 'a core Event for a Service is listed by involvedObject field selectors',
    async run(t) {
      const name = t.name('ev');
      await t.core.createNamespacedEvent({ namespace: t.ns, body: coreEvent(t, name, t.ns) });
      const list = await t.core.listNamespacedEvent({
        namespace: t.ns,
        fieldSelector: 'involvedObject.kind=Service,involvedObject.name=web',
      });
      assert.ok(
        list.items.some((e) => e.metadata!.name === name && e.reason === 'EnsuringLoadBalancer'),
      );
    },
  },
  {
    desc: 'a core Event in a namespace other than its object is a 422 on involvedObject.namespace',
    async run(t) {
      const status = await expectStatus(
        t.core.createNamespacedEvent({
          namespace: t.ns,
          body: coreEvent(t, t.name('ev'), 'kube-system'),
        }),
        422,
        'Invalid',
      );
      assert.equal(status.details!.causes![0]!.field, 'involvedObject.namespace');
    },
  },
  {
    desc: 'an events.k8s.io/v1 Event is also a core Event, its fields renamed',
    async run(t) {
      const name = t.name('newev');
      await t.events.createNamespacedEvent({ namespace: t.ns, body: newEvent(t, name) });
      const core = await t.core.readNamespacedEvent({ name, namespace: t.ns });
      assert.equal(core.message, 'Ensured load balancer');
      assert.equal(core.involvedObject.name, 'web');
      assert.equal(core.reportingComponent, 'example.com/kube-lbc');
      const back = await t.events.readNamespacedEvent({ name, namespace: t.ns });
      assert.equal(back.note, 'Ensured load balancer');
      assert.equal(back.regarding!.name, 'web');
    },
  },
  {
    desc: 'an events.k8s.io/v1 Event without reportingController is a 422',
    async run(t) {
      const body = { ...newEvent(t, t.name('norc')), reportingController: undefined };
      const status = await expectStatus(
        t.events.createNamespacedEvent({ namespace: t.ns, body }),
        422,
        'Invalid',
      );
      assert.ok(status.details!.causes!.some((c) => c.field === 'reportingController'));
    },
  },
  {
    desc: 'an events.k8s.io/v1 Event without eventTime is a 422 naming only eventTime, kind Event and no group',
    async run(t) {
      const name = t.name('notime');
      // The type makes eventTime required; the server is what should say so.
      const body = {
        metadata: { name },
        regarding: { kind: 'Service', namespace: t.ns, name: 'web', apiVersion: 'v1' },
        reason: 'EnsuredLoadBalancer',
        note: 'Ensured load balancer',
        type: 'Normal',
      } as EventsV1Event;
      const status = await expectStatus(
        t.events.createNamespacedEvent({ namespace: t.ns, body }),
        422,
        'Invalid',
      );
      assert.equal(status.message, `Event "${name}" is invalid: eventTime: Required value`);
      assert.deepEqual(status.details, {
        name,
        kind: 'Event',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'eventTime' }],
      });
    },
  },
  {
    desc: 'a Node keeps the status it was created with; a spec write ignores status, a status write merges conditions by type',
    async run(t) {
      const name = t.name('node');
      t.ownNode(name);
      const created = await t.core.createNode({ body: node(name) });
      assert.equal(created.status!.conditions![0]!.type, 'Ready');
      const specWrite = await t.core.patchNode(
        { name, body: { spec: { unschedulable: true }, status: { conditions: [] } } },
        mergePatch,
      );
      assert.equal(specWrite.spec!.unschedulable, true);
      assert.equal(specWrite.status!.conditions!.length, 1);
      const statusWrite = await t.core.patchNodeStatus(
        {
          name,
          body: {
            status: {
              conditions: [
                {
                  type: 'NetworkUnavailable',
                  status: 'False',
                  reason: 'RouteCreated',
                  message: 'ok',
                },
              ],
            },
          },
        },
        strategicPatch,
      );
      assert.deepEqual(statusWrite.status!.conditions!.map((c) => c.type).sort(), [
        'NetworkUnavailable',
        'Ready',
      ]);
      const cordoned = await t.core.listNode({ fieldSelector: 'spec.unschedulable=true' });
      assert.ok(cordoned.items.some((n) => n.metadata!.name === name));
    },
  },
  {
    desc: 'default and kube-system exist, and a new Namespace is Active with the kubernetes finalizer',
    async run(t) {
      for (const name of ['default', 'kube-system'])
        assert.equal((await t.core.readNamespace({ name })).status!.phase, 'Active');
      const ns = await t.core.readNamespace({ name: t.ns });
      assert.equal(ns.status!.phase, 'Active');
      assert.deepEqual(ns.spec!.finalizers, ['kubernetes']);
    },
  },
  {
    desc: "an EndpointSlice v1 endpoint keeps deprecatedTopology and drops v1beta1's topology",
    skip: (t) => before121(t) && `${t.gitVersion} serves EndpointSlices as v1beta1 only`,
    async run(t) {
      const name = t.name('topo');
      const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-slice-'));
      try {
        const file = join(dir, 'slice.json');
        writeFileSync(
          file,
          JSON.stringify({
            apiVersion: 'discovery.k8s.io/v1',
            kind: 'EndpointSlice',
            metadata: { name, namespace: t.ns },
            addressType: 'IPv4',
            endpoints: [
              {
                addresses: ['10.1.0.1'],
                topology: { 'topology.kubernetes.io/zone': 'old' },
                deprecatedTopology: { 'topology.kubernetes.io/zone': 'z1' },
              },
            ],
          }),
        );
        // --validate=false: the unknown field is to be dropped by the server, not refused.
        const created = JSON.parse(
          await t.kubectl('create', '--validate=false', '-f', file, '-o', 'json'),
        );
        assert.deepEqual(created.endpoints, [
          { addresses: ['10.1.0.1'], deprecatedTopology: { 'topology.kubernetes.io/zone': 'z1' } },
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    desc: 'an EndpointSlice (discovery.k8s.io/v1) starts at generation 1 and bumps it when endpoints change',
    skip: (t) => before121(t) && `${t.gitVersion} serves EndpointSlices as v1beta1 only`,
    async run(t) {
      const api = t.kc.makeApiClient(DiscoveryV1Api);
      const name = t.name('slice');
      const created = await api.createNamespacedEndpointSlice({
        namespace: t.ns,
        body: {
          metadata: { name, labels: { 'kubernetes.io/service-name': 'web' } },
          addressType: 'IPv4',
          endpoints: [{ addresses: ['10.1.0.1'], conditions: { ready: true } }],
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        },
      });
      assert.equal(created.metadata!.generation, 1);
      const changed = await api.patchNamespacedEndpointSlice(
        {
          name,
          namespace: t.ns,
          body: { endpoints: [{ addresses: ['10.1.0.2'], conditions: { ready: true } }] },
        },
        mergePatch,
      );
      assert.equal(changed.metadata!.generation, 2);
      const listed = await api.listNamespacedEndpointSlice({
        namespace: t.ns,
        labelSelector: 'kubernetes.io/service-name=web',
      });
      assert.deepEqual(
        listed.items.map((s) => s.metadata!.name),
        [name],
      );
      await expectStatus(
        api.createNamespacedEndpointSlice({
          namespace: t.ns,
          body: { metadata: { name: t.name('bad') }, addressType: 'IPv5' as 'IPv4', endpoints: [] },
        }),
        422,
        'Invalid',
      );
    },
  },
]);
