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
      gate: new CloudCallGate({ transientAttempts: 1 }),
    });
    await assert.rejects(provider.getLoadBalancer(ctx, 'test', newService('a')), (err) => {
      assert.ok(err instanceof CloudError);
      assert.equal(err.retryable, true);
      return true;
    });
    assert.equal(await provider.getLoadBalancer(ctx, 'test', newService('a')), undefined);
    assert.equal(cloud.calls.length, 2);
  });

  it('throttles a burst of calls once one starts, then answers again', async () => {
    const draws = [0.001];
    const { cloud } = await newFakeHarness({
      cloud: { throttleRate: 0.01, throttleBurst: 3, random: () => draws.shift() ?? 0.9 },
    });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(
        await cloud.listLoadBalancers().then(
          () => 'ok',
          (err: CloudError) => (err.throttled ? 'throttled' : 'error'),
        ),
      );
    }
    assert.deepEqual(outcomes, ['throttled', 'throttled', 'throttled', 'ok']);
  });

  it('makes a write and then loses its answer at the lost-answer rate', async () => {
    const { cloud, provider, ctx } = await newFakeHarness({
      cloud: { lostAnswerRate: 1 },
      gate: new CloudCallGate({ transientAttempts: 1 }),
    });
    await assert.rejects(provider.ensureLoadBalancer(ctx, 'test', newService('web'), []), (err) => {
      assert.ok(err instanceof CloudError);
      assert.equal(err.cloudCode, 'LostAnswer');
      assert.equal(err.retryable, true);
      return true;
    });
    assert.equal(cloud.loadBalancers().length, 1, 'the create took effect');
  });

  it('finds a create whose answer was lost instead of failing the sync', async () => {
    const draws = [0.01]; // the first write's answer is lost, no other
    const { cloud, provider, ctx } = await newFakeHarness({
      cloud: { lostAnswerRate: 0.05, random: () => draws.shift() ?? 0.9 },
    });
    const status = await provider.ensureLoadBalancer(ctx, 'test', newService('web'), []);
    assert.equal(status.ingress.length, 1);
    assert.deepEqual(
      cloud.calls.map((c) => c.method),
      ['CreateLoadBalancer', 'GetLoadBalancer'],
    );
  });

  it('retries reads and set-to-value writes that failed transiently', async () => {
    const { cloud, provider, ctx } = await newFakeHarness();
    const svc = newService('web');
    await provider.ensureLoadBalancer(ctx, 'test', svc, []);
    cloud.clearCalls();
    cloud.failNext(
      'UpdateHosts',
      new CloudError('reset', { operation: 'UpdateHosts', cloudCode: 'X' }),
    );
    cloud.failNext(
      'DeleteLoadBalancer',
      new CloudError('reset', { operation: 'Delete', cloudCode: 'X' }),
    );
    const published = { ...svc, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } };
    await provider.updateLoadBalancerHosts(ctx, 'test', published, [{ metadata: { name: 'n1' } }]);
    await provider.ensureLoadBalancerDeleted(ctx, 'test', svc);
    assert.deepEqual(
      cloud.calls.map((c) => c.method),
      ['GetLoadBalancer', 'UpdateHosts', 'UpdateHosts', 'DeleteLoadBalancer', 'DeleteLoadBalancer'],
    );
    assert.equal(cloud.loadBalancers().length, 0);
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
