/**
 * A provider method that never settles (a plugin waiting on a socket nobody answers) must not keep
 * its worker: the sync abandons it at its deadline, tells it through `ctx.signal`, and the
 * Service is retried like any failure while other Services go on.
 */
import assert from 'node:assert/strict';
import { findReadyCondition } from '../../../controllers/service/status.js';
import { createFakeCloud, createFakeProvider } from '../../../providers/fake/index.js';
import type { CallContext, ProviderFactory } from '../../../contract/provider.js';
import { newNode, newPostedService } from '../../fixtures/builders.js';
import { startTestCluster, type TestCluster } from '../../support/cluster.js';

describe('a provider method that never settles', function () {
  this.timeout(20_000);
  let c: TestCluster | undefined;
  afterEach(async () => c?.stop());

  it('is abandoned at its deadline, so the only worker serves the next Service and the hung one is retried', async () => {
    const cloud = createFakeCloud();
    const abandoned: CallContext[] = [];
    const fake = createFakeProvider(cloud);
    const provider: ProviderFactory = async (options) => {
      const inner = await fake(options);
      let hung = false;
      const ensure: typeof inner.ensureLoadBalancer = (ctx, ...rest) => {
        if (hung) return inner.ensureLoadBalancer(ctx, ...rest);
        hung = true;
        abandoned.push(ctx);
        return new Promise(() => {});
      };
      return new Proxy(inner, {
        get: (target, prop) => {
          if (prop === 'ensureLoadBalancer') return ensure;
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    };
    c = await startTestCluster({
      provider,
      cloud,
      config: { concurrentServiceSyncs: 1, providerTimeoutMs: 200 },
      nodes: [newNode('node-1')],
    });
    const cluster = c;
    await cluster.core.createNamespacedService({
      namespace: 'default',
      body: newPostedService('hung'),
    });
    await cluster.until(() => abandoned.length === 1, 'the first ensure to hang');
    await cluster.core.createNamespacedService({
      namespace: 'default',
      body: newPostedService('next'),
    });
    const ready = (name: string) =>
      findReadyCondition(cluster.cached('default', name) ?? {})?.reason === 'Ready';
    await cluster.until(() => ready('next') && ready('hung'), 'both Services to be Ready');
    assert.equal(abandoned[0]!.signal.aborted, true, 'the abandoned call was told to stop');
    assert.match(
      String(abandoned[0]!.signal.reason),
      /ensureLoadBalancer did not settle within 200 ms/,
    );
  });
});
