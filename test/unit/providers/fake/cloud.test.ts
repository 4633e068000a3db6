import assert from 'node:assert/strict';
import { CloudCallGate } from '../../../../runtime/cloud-calls.js';
import { CloudError } from '../../../../contract/errors.js';
import { newService } from '../../../fixtures/builders.js';
import { newFakeHarness } from './harness.js';

describe('fake cloud switches', () => {
  it('fails the next calls of a method as scripted, then recovers', async () => {
    const { cloud, provider, ctx } = await newFakeHarness();
    const boom = new Error('boom');
    cloud.failNext('CreateLoadBalancer', boom, 2);
    const svc = newService('web');
    await assert.rejects(provider.ensureLoadBalancer(ctx, 'test', svc, []), boom);
    await assert.rejects(provider.ensureLoadBalancer(ctx, 'test', svc, []), boom);
    await provider.ensureLoadBalancer(ctx, 'test', svc, []);
    assert.equal(cloud.loadBalancers().length, 1);
  });

  it('fails any method with "*"', async () => {
    const { cloud, provider, ctx } = await newFakeHarness();
    cloud.failNext('*', new Error('down'));
    await assert.rejects(provider.getLoadBalancer(ctx, 'test', newService('web')), /down/);
    assert.equal(await provider.getLoadBalancer(ctx, 'test', newService('web')), undefined);
  });

  it('fails at the failure rate, using the injected random', async () => {
    const draws = [0.1, 0.9];
    const { cloud, provider, ctx } = await newFakeHarness({
      cloud: {
        failureRate: 0.5,
        random: () => draws.shift() ?? 0.9,
      },
    });
    await assert.rejects(provider.getLoadBalancer(ctx, 'test', newService('a')), (err) => {
      assert.ok(err instanceof CloudError);
      assert.equal(err.retryable, true);
      return true;
    });
    assert.equal(await provider.getLoadBalancer(ctx, 'test', newService('a')), undefined);
    assert.equal(cloud.calls.length, 2);
  });

  it('charges the latency on every call through the injected sleep', async () => {
    const slept: number[] = [];
    const { provider, ctx } = await newFakeHarness({
      cloud: { latencyMs: 100, sleep: async (ms) => void slept.push(ms) },
    });
    await provider.ensureLoadBalancer(ctx, 'test', newService('web'), []);
    assert.deepEqual(slept, [100]);
  });

  it('routes every call through the CloudCallGate gate it was given', async () => {
    const seen: string[] = [];
    const gate = new CloudCallGate({ observer: (c) => seen.push(`${c.operation}:${c.outcome}`) });
    const { provider, ctx } = await newFakeHarness({ gate });
    const svc = newService('web');
    await provider.ensureLoadBalancer(ctx, 'test', svc, []);
    await provider.ensureLoadBalancerDeleted(ctx, 'test', svc);
    assert.deepEqual(seen, ['CreateLoadBalancer:success', 'DeleteLoadBalancer:success']);
  });
});
