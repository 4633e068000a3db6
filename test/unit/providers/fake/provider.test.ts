import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import type { LoadBalancerStatus } from '../../../../contract/provider.js';
import { CloudError, InvalidServiceError, RetryAfterError } from '../../../../contract/errors.js';
import { failValidationAnnotation, optionAnnotation } from '../../../../providers/fake/index.js';
import {
  newNode,
  newService,
  tweakAddPorts,
  tweakAnnotations,
  tweakNoNodePorts,
  tweakSourceRanges,
} from '../../../fixtures/builders.js';
import { noopLogger } from '../../../../contract/logger.js';
import { newFakeHarness } from './harness.js';

const methods = (calls: readonly { method: string }[]) => calls.map((c) => c.method);
/** `svc` as the controller's cache holds it once the status is written. */
const published = (svc: V1Service, status: LoadBalancerStatus): V1Service => ({
  ...svc,
  status: { loadBalancer: { ingress: [...status.ingress] } },
});
const twoNodes = [newNode('node-1'), newNode('node-2')];

describe('fake provider', () => {
  describe('ensureLoadBalancer', () => {
    it('creates a new Service’s load balancer in one call, and returns its ingress', async () => {
      const { cloud, provider, ctx } = await newFakeHarness();
      const svc = newService('web');
      const status = await provider.ensureLoadBalancer(ctx, 'test', svc, twoNodes);
      assert.deepEqual(status, { ingress: [{ ip: '192.0.2.1' }] });
      assert.deepEqual(methods(cloud.calls), ['CreateLoadBalancer']);
      const [lb] = cloud.loadBalancers();
      assert.deepEqual(lb!.nodes, ['node-1', 'node-2']);
      assert.deepEqual(lb!.ports, [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }]);
      assert.deepEqual(lb!.tags, {
        cluster: 'test',
        serviceUID: svc.metadata!.uid,
        namespace: 'default',
        serviceName: 'web',
      });
    });

    it('writes nothing when the cloud already matches, before and after a restart', async () => {
      const { cloud, provider, ctx, restart } = await newFakeHarness();
      const fresh = newService('web');
      const first = await provider.ensureLoadBalancer(ctx, 'test', fresh, twoNodes);
      const svc = published(fresh, first);
      cloud.clearCalls();
      assert.deepEqual(await provider.ensureLoadBalancer(ctx, 'test', svc, twoNodes), first);
      const restarted = await restart();
      assert.deepEqual(await restarted.ensureLoadBalancer(ctx, 'test', svc, twoNodes), first);
      assert.deepEqual(methods(cloud.calls), ['GetLoadBalancer', 'GetLoadBalancer']);
      assert.deepEqual(cloud.writes(), []);
    });

    it('finishes a create whose status was never published, without a duplicate', async () => {
      const { cloud, provider, ctx, restart } = await newFakeHarness();
      const svc = newService('web');
      const first = await provider.ensureLoadBalancer(ctx, 'test', svc, twoNodes);
      cloud.clearCalls();
      const moreNodes = [...twoNodes, newNode('node-3')];
      assert.deepEqual(
        await (await restart()).ensureLoadBalancer(ctx, 'test', svc, moreNodes),
        first,
      );
      assert.deepEqual(methods(cloud.calls), [
        'CreateLoadBalancer',
        'GetLoadBalancer',
        'UpdateHosts',
      ]);
      assert.equal(cloud.loadBalancers().length, 1);
    });

    it('fails, without a second copy, when the name is taken but reads say it is missing', async () => {
      const { cloud, provider, ctx } = await newFakeHarness();
      const svc = newService('web');
      await provider.ensureLoadBalancer(ctx, 'test', svc, twoNodes);
      cloud.exists = false;
      await assert.rejects(provider.ensureLoadBalancer(ctx, 'test', svc, twoNodes), {
        cloudCode: 'Inconsistent',
      });
      assert.equal(cloud.loadBalancers().length, 1);
    });

    it('creates again when a published load balancer is gone from the cloud', async () => {
      const { cloud, provider, ctx } = await newFakeHarness();
      const svc = newService('web');
      const status = await provider.ensureLoadBalancer(ctx, 'test', svc, twoNodes);
      await provider.ensureLoadBalancerDeleted(ctx, 'test', svc);
      cloud.clearCalls();
      await provider.ensureLoadBalancer(ctx, 'test', published(svc, status), twoNodes);
      assert.deepEqual(methods(cloud.calls), ['GetLoadBalancer', 'CreateLoadBalancer']);
    });

    const changes = [
      {
        desc: 'a port change updates the listeners only',
        tweak: tweakAddPorts({ port: 53, protocol: 'UDP', nodePort: 30053 }),
        nodes: twoNodes,
        writes: ['UpdateLoadBalancer'],
      },
      {
        desc: 'a source-range change updates the listeners only',
        tweak: tweakSourceRanges('10.0.0.0/8'),
        nodes: twoNodes,
        writes: ['UpdateLoadBalancer'],
      },
      {
        desc: 'an option annotation updates the listeners only',
        tweak: tweakAnnotations({ [optionAnnotation]: 'enabled' }),
        nodes: twoNodes,
        writes: ['UpdateLoadBalancer'],
      },
      {
        desc: 'a node change updates the hosts only',
        tweak: () => {},
        nodes: [...twoNodes, newNode('node-3')],
        writes: ['UpdateHosts'],
      },
    ];
    for (const c of changes) {
      it(c.desc, async () => {
        const { cloud, provider, ctx } = await newFakeHarness();
        const svc = newService('web');
        const status = await provider.ensureLoadBalancer(ctx, 'test', svc, twoNodes);
        cloud.clearCalls();
        const changed = structuredClone(published(svc, status));
        c.tweak(changed);
        await provider.ensureLoadBalancer(ctx, 'test', changed, c.nodes);
        assert.deepEqual(methods(cloud.writes()), c.writes);
      });
    }

    it('uses the requested IP when the Service asks for one', async () => {
      const { provider, ctx } = await newFakeHarness();
      const svc = newService('web', (s) => void (s.spec!.loadBalancerIP = '203.0.113.7'));
      const status = await provider.ensureLoadBalancer(ctx, 'test', svc, twoNodes);
      assert.deepEqual(status, { ingress: [{ ip: '203.0.113.7' }] });
    });

    it('gives every load balancer a distinct IP', async () => {
      const { provider, ctx } = await newFakeHarness();
      const ips = new Set<string | undefined>();
      for (let i = 0; i < 300; i++) {
        const status = await provider.ensureLoadBalancer(ctx, 'test', newService(`s${i}`), []);
        ips.add(status.ingress[0]!.ip);
      }
      assert.equal(ips.size, 300);
    });

    it('rejects a port without a NodePort when it targets NodePorts', async () => {
      const { cloud, provider, ctx } = await newFakeHarness();
      const svc = newService('web', tweakNoNodePorts);
      await assert.rejects(provider.ensureLoadBalancer(ctx, 'test', svc, twoNodes), (err) => {
        assert.ok(err instanceof CloudError);
        assert.equal(err.cloudCode, 'InvalidParameter');
        return true;
      });
      assert.deepEqual(cloud.writes(), []);
    });

    it('accepts ports without NodePorts when it does not target them', async () => {
      const { cloud, provider, ctx } = await newFakeHarness({
        provider: { capabilities: { targetsNodePorts: false } },
      });
      await provider.ensureLoadBalancer(ctx, 'test', newService('web', tweakNoNodePorts), []);
      assert.deepEqual(cloud.loadBalancers()[0]!.ports, [
        { name: 'http', protocol: 'TCP', port: 80 },
      ]);
    });

    it('refuses an invalid Service before any call', async () => {
      const { cloud, provider, ctx } = await newFakeHarness();
      const svc = newService('web', tweakAnnotations({ [failValidationAnnotation]: 'no' }));
      await assert.rejects(
        provider.ensureLoadBalancer(ctx, 'test', svc, twoNodes),
        InvalidServiceError,
      );
      assert.deepEqual(cloud.calls, []);
    });

    it('makes no write once the context is aborted', async () => {
      const { cloud, provider } = await newFakeHarness();
      const aborted = new AbortController();
      aborted.abort();
      const ctx = { signal: aborted.signal, logger: noopLogger, recordEvent() {} };
      await assert.rejects(provider.ensureLoadBalancer(ctx, 'test', newService('web'), []));
      assert.deepEqual(cloud.writes(), []);
    });

    it('answers RetryAfter with the status while the load balancer provisions', async () => {
      let now = 1000;
      const { provider, ctx } = await newFakeHarness({
        cloud: { provisioningDelayMs: 500, now: () => now },
      });
      const svc = newService('web');
      await assert.rejects(provider.ensureLoadBalancer(ctx, 'test', svc, []), (err) => {
        assert.ok(err instanceof RetryAfterError);
        assert.equal(err.delayMs, 500);
        assert.deepEqual(err.status, { ingress: [{ ip: '192.0.2.1' }] });
        return true;
      });
      now = 1400;
      await assert.rejects(provider.ensureLoadBalancer(ctx, 'test', svc, []), { delayMs: 100 });
      now = 1500;
      assert.deepEqual(await provider.ensureLoadBalancer(ctx, 'test', svc, []), {
        ingress: [{ ip: '192.0.2.1' }],
      });
    });
  });

  describe('updateLoadBalancerHosts', () => {
    it('writes the hosts only when the node set changed', async () => {
      const { cloud, provider, ctx } = await newFakeHarness();
      const svc = newService('web');
      await provider.ensureLoadBalancer(ctx, 'test', svc, twoNodes);
      cloud.clearCalls();
      await provider.updateLoadBalancerHosts(ctx, 'test', svc, [...twoNodes].reverse());
      assert.deepEqual(cloud.writes(), []);
      await provider.updateLoadBalancerHosts(ctx, 'test', svc, [newNode('node-9')]);
      assert.deepEqual(cloud.writes(), [
        { method: 'UpdateHosts', service: 'default/web', nodes: ['node-9'], write: true },
      ]);
    });

    it('keeps one node list for every load balancer over the same node set', async () => {
      const { cloud, provider, ctx } = await newFakeHarness();
      const [a, b] = [newService('a'), newService('b')];
      await provider.ensureLoadBalancer(ctx, 'test', a, twoNodes);
      await provider.ensureLoadBalancer(ctx, 'test', b, twoNodes);
      const joined = [...twoNodes, newNode('node-3')];
      await provider.updateLoadBalancerHosts(ctx, 'test', a, joined);
      await provider.updateLoadBalancerHosts(ctx, 'test', b, joined);
      const [first, second] = cloud.loadBalancers();
      assert.deepEqual(first!.nodes, ['node-1', 'node-2', 'node-3']);
      assert.equal(first!.nodes, second!.nodes, 'one shared list, not a copy per load balancer');
    });

    it('does nothing for a load balancer that does not exist', async () => {
      const { cloud, provider, ctx } = await newFakeHarness();
      await provider.updateLoadBalancerHosts(ctx, 'test', newService('web'), twoNodes);
      assert.deepEqual(methods(cloud.calls), ['GetLoadBalancer']);
    });
  });

  describe('ensureLoadBalancerDeleted', () => {
    it('deletes the load balancer in one call, and succeeds when it is already gone', async () => {
      const { cloud, provider, ctx } = await newFakeHarness();
      const svc = newService('web');
      await provider.ensureLoadBalancer(ctx, 'test', svc, twoNodes);
      cloud.clearCalls();
      await provider.ensureLoadBalancerDeleted(ctx, 'test', svc);
      assert.deepEqual(cloud.loadBalancers(), []);
      await provider.ensureLoadBalancerDeleted(ctx, 'test', svc);
      assert.deepEqual(methods(cloud.calls), ['DeleteLoadBalancer', 'DeleteLoadBalancer']);
    });

    it('fails a delete the cloud refuses', async () => {
      const { cloud, provider, ctx } = await newFakeHarness();
      const svc = newService('web');
      await provider.ensureLoadBalancer(ctx, 'test', svc, []);
      cloud.failNext(
        'DeleteLoadBalancer',
        new CloudError('busy', { operation: 'x', cloudCode: 'InUse', retryable: false }),
      );
      await assert.rejects(provider.ensureLoadBalancerDeleted(ctx, 'test', svc), /busy/);
      assert.equal(cloud.loadBalancers().length, 1);
    });

    it('treats a load balancer deleted under it as deleted', async () => {
      const { cloud, provider, ctx } = await newFakeHarness();
      const svc = newService('web');
      await provider.ensureLoadBalancer(ctx, 'test', svc, []);
      const gone = new CloudError('gone', {
        operation: 'x',
        cloudCode: 'NotFound',
        notFound: true,
      });
      cloud.failNext('DeleteLoadBalancer', gone);
      await provider.ensureLoadBalancerDeleted(ctx, 'test', svc);
    });
  });

  describe('getLoadBalancer', () => {
    it('reports undefined for a missing load balancer, and the forced answer when told', async () => {
      const { cloud, provider, ctx } = await newFakeHarness();
      const svc = newService('web');
      assert.equal(await provider.getLoadBalancer(ctx, 'test', svc), undefined);
      cloud.exists = true;
      assert.deepEqual(await provider.getLoadBalancer(ctx, 'test', svc), { ingress: [] });
      cloud.exists = false;
      await provider.ensureLoadBalancer(ctx, 'other', svc, []);
      assert.equal(await provider.getLoadBalancer(ctx, 'other', svc), undefined);
    });
  });

  describe('listLoadBalancers', () => {
    it('lists only the load balancers of its cluster', async () => {
      const { provider, ctx } = await newFakeHarness();
      const mine = newService('mine');
      await provider.ensureLoadBalancer(ctx, 'test', mine, []);
      await provider.ensureLoadBalancer(ctx, 'other', newService('theirs'), []);
      assert.deepEqual(await provider.listLoadBalancers!(ctx, 'test'), [
        { serviceUID: mine.metadata!.uid, namespace: 'default', name: 'mine' },
      ]);
    });
  });

  describe('loadBalancerName', () => {
    it('is a DNS label that differs by cluster and by UID', async () => {
      const { provider } = await newFakeHarness();
      const a = newService('a');
      const name = provider.loadBalancerName('test', a);
      assert.match(name, /^[a-z0-9-]{1,63}$/);
      assert.equal(provider.loadBalancerName('test', structuredClone(a)), name);
      assert.notEqual(provider.loadBalancerName('prod', a), name);
      assert.notEqual(provider.loadBalancerName('test', newService('a')), name);
    });
  });

  describe('validateService', () => {
    const table: { desc: string; annotations: Record<string, string>; fields: string[] }[] = [
      { desc: 'a plain Service', annotations: {}, fields: [] },
      { desc: 'a valid option', annotations: { [optionAnnotation]: 'disabled' }, fields: [] },
      {
        desc: 'a bad option',
        annotations: { [optionAnnotation]: 'maybe' },
        fields: [`metadata.annotations[${optionAnnotation}]`],
      },
      {
        desc: 'a requested failure and a bad option',
        annotations: { [failValidationAnnotation]: '', [optionAnnotation]: 'x' },
        fields: [
          `metadata.annotations[${failValidationAnnotation}]`,
          `metadata.annotations[${optionAnnotation}]`,
        ],
      },
    ];
    for (const c of table) {
      it(`reports ${c.fields.length} field errors for ${c.desc}`, async () => {
        const { cloud, provider } = await newFakeHarness();
        const errors = provider.validateService(newService('web', tweakAnnotations(c.annotations)));
        assert.deepEqual(
          errors.map((e) => e.field),
          c.fields,
        );
        assert.deepEqual(cloud.calls, []);
      });
    }
  });
});
