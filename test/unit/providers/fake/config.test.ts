import assert from 'node:assert/strict';
import { ProviderConfigError } from '../../../../contract/errors.js';
import { nthAddress } from '../../../../providers/fake/addresses.js';
import { parseFakeConfig } from '../../../../providers/fake/config.js';
import createProvider, { sharedFakeCloud } from '../../../../providers/fake/index.js';
import { CloudCallGate } from '../../../../runtime/cloud-calls.js';
import { noopLogger } from '../../../../contract/logger.js';
import { newService } from '../../../fixtures/builders.js';
import { newFakeHarness } from './harness.js';

describe('fake provider cloud-config', () => {
  const rejected = [
    { desc: 'an unknown key', config: { latency: 5 }, key: 'latency' },
    { desc: 'a negative latency', config: { latencyMs: -1 }, key: 'latencyMs' },
    { desc: 'a latency given as text', config: { latencyMs: '5' }, key: 'latencyMs' },
    { desc: 'a failure rate above 1', config: { failureRate: 1.5 }, key: 'failureRate' },
    { desc: 'an ingress that is neither', config: { ingress: 'not an address!' }, key: 'ingress' },
    { desc: 'a bad delay', config: { provisioningDelayMs: null }, key: 'provisioningDelayMs' },
    { desc: 'a throttle rate above 1', config: { throttleRate: 2 }, key: 'throttleRate' },
    { desc: 'a lost-answer rate above 1', config: { lostAnswerRate: 1.1 }, key: 'lostAnswerRate' },
    { desc: 'a negative burst', config: { throttleBurst: -3 }, key: 'throttleBurst' },
    { desc: 'a cloudUrl that is not http', config: { cloudUrl: 'file:///tmp/x' }, key: 'cloudUrl' },
    {
      desc: 'a cloud switch next to cloudUrl',
      config: { cloudUrl: 'http://127.0.0.1:1', failureRate: 0.1 },
      key: 'failureRate',
    },
    {
      desc: 'an unknown capability',
      config: { capabilities: { teleport: true } },
      key: 'capabilities.teleport',
    },
    {
      desc: 'a bad protocol',
      config: { capabilities: { protocols: ['HTTP'] } },
      key: 'capabilities.protocols[0]',
    },
  ];
  for (const c of rejected) {
    it(`rejects ${c.desc}, naming the key`, () => {
      assert.throws(
        () => parseFakeConfig(c.config),
        (err) => err instanceof ProviderConfigError && err.key === c.key,
      );
    });
  }

  it('accepts every known key', () => {
    assert.deepEqual(
      parseFakeConfig({
        latencyMs: 100,
        failureRate: 0.1,
        throttleRate: 0.01,
        throttleBurst: 20,
        lostAnswerRate: 0.03,
        ingress: 'hostname',
        provisioningDelayMs: 0,
        capabilities: { targetsNodePorts: false, protocols: ['TCP'], ipMode: 'Proxy' },
      }),
      {
        latencyMs: 100,
        failureRate: 0.1,
        throttleRate: 0.01,
        throttleBurst: 20,
        lostAnswerRate: 0.03,
        ingress: 'hostname',
        provisioningDelayMs: 0,
        capabilities: { targetsNodePorts: false, protocols: ['TCP'], ipMode: 'Proxy' },
      },
    );
  });

  const ingressTable = [
    { ingress: 'hostname', expected: (lb: string) => [{ hostname: `${lb}.lb.fake.example` }] },
    { ingress: '203.0.113.9', expected: () => [{ ip: '203.0.113.9' }] },
    { ingress: '2001:db8::1', expected: () => [{ ip: '2001:db8::1' }] },
    { ingress: 'lb.example.com', expected: () => [{ hostname: 'lb.example.com' }] },
  ];
  for (const c of ingressTable) {
    it(`reports ingress "${c.ingress}" as configured`, async () => {
      const { provider, ctx } = await newFakeHarness({ config: { ingress: c.ingress } });
      const svc = newService('web');
      const status = await provider.ensureLoadBalancer(ctx, 'test', svc, []);
      assert.deepEqual(status.ingress, c.expected(provider.loadBalancerName('test', svc)));
    });
  }

  it('applies the latency and capabilities from the config', async () => {
    const { cloud, provider } = await newFakeHarness({
      config: { latencyMs: 7, capabilities: { targetsNodePorts: false } },
    });
    assert.equal(cloud.latencyMs, 7);
    assert.equal(provider.capabilities.targetsNodePorts, false);
    assert.deepEqual(provider.capabilities.protocols, ['TCP', 'UDP']);
  });

  it('allocates addresses from TEST-NET-1, then the benchmarking range', () => {
    assert.equal(nthAddress(0), '192.0.2.1');
    assert.equal(nthAddress(253), '192.0.2.254');
    assert.equal(nthAddress(254), '198.18.0.1');
    assert.equal(nthAddress(254 + 254), '198.18.1.1');
    assert.equal(nthAddress(254 + 256 * 254), '198.19.0.1');
  });
});

describe('fake provider registry entry', () => {
  it('shares one cloud per process between the providers it starts', async () => {
    const options = {
      config: {},
      clusterName: 'registry-test',
      logger: noopLogger,
      cloudCalls: new CloudCallGate(),
      cluster: { services: () => [], nodes: () => [] },
    };
    const ctx = { signal: new AbortController().signal, logger: noopLogger, recordEvent() {} };
    const svc = newService('shared');
    await (await createProvider(options)).ensureLoadBalancer(ctx, 'registry-test', svc, []);
    const restarted = await createProvider(options);
    assert.ok(await restarted.getLoadBalancer(ctx, 'registry-test', svc));
    await restarted.ensureLoadBalancerDeleted(ctx, 'registry-test', svc);
    assert.equal(
      sharedFakeCloud().peek(restarted.loadBalancerName('registry-test', svc)),
      undefined,
    );
  });
});
