import assert from 'node:assert/strict';
import { RetryAfterError } from '../../../contract/errors.js';
import type { LoadBalancerProvider } from '../../../contract/provider.js';
import { guardProvider, ProviderContractError, statusProblem } from '../../../providers/guard.js';
import { newService } from '../../fixtures/builders.js';
import { newFakeHarness } from './fake/harness.js';

describe('guardProvider', () => {
  const badStatuses: [string, unknown, RegExp][] = [
    [
      'an IP that is not one',
      { ingress: [{ ip: '300.1.2.3' }] },
      /ingress\[0\]\.ip: "300\.1\.2\.3" is not an IP address/,
    ],
    [
      'a hostname with a space',
      { ingress: [{ hostname: 'lb example.com' }] },
      /ingress\[0\]\.hostname: "lb example\.com" is not a DNS name/,
    ],
    [
      'an IP as hostname',
      { ingress: [{ hostname: '10.0.0.1' }] },
      /is an IP address \(put it in ip\)/,
    ],
    ['an entry with neither', { ingress: [{}] }, /has neither ip nor hostname/],
    ['no ingress list', { ingress: 'x' }, /has no ingress list/],
    ['nothing', undefined, /has no ingress list/],
    [
      'a bad ipMode',
      { ingress: [{ ip: '10.0.0.1', ipMode: 'Direct' }] },
      /ipMode: "Direct" is not VIP or Proxy/,
    ],
    [
      'a bad port',
      { ingress: [{ ip: '10.0.0.1', ports: [{ port: 0, protocol: 'TCP' }] }] },
      /ports\[0\]\.port: 0 is not a port/,
    ],
  ];
  for (const [desc, status, message] of badStatuses) {
    it(`refuses a status with ${desc}, naming the entry`, () => {
      assert.match(statusProblem(status) ?? '', message);
    });
  }

  it('takes what the API server takes', () => {
    assert.equal(statusProblem({ ingress: [] }), undefined);
    assert.equal(
      statusProblem({
        ingress: [
          { ip: '2001:db8::1', ipMode: 'Proxy' },
          { hostname: 'lb.example.com', ports: [{ port: 80, protocol: 'UDP' }] },
        ],
      }),
      undefined,
    );
  });

  async function wrapped(overrides: Partial<LoadBalancerProvider>) {
    const { provider, ctx } = await newFakeHarness();
    return {
      ctx,
      provider: guardProvider(
        'plugin',
        Object.assign(Object.create(provider) as LoadBalancerProvider, overrides),
      ),
    };
  }

  it('turns an invalid ingress from ensureLoadBalancer into an error naming the provider', async () => {
    const { provider, ctx } = await wrapped({
      ensureLoadBalancer: async () => ({ ingress: [{ ip: 'not-an-ip' }] }),
    });
    await assert.rejects(
      provider.ensureLoadBalancer(ctx, 'test', newService('web'), []),
      (err: unknown) => {
        assert.ok(err instanceof ProviderContractError);
        assert.match(
          err.message,
          /^provider "fake" returned an invalid status: ingress\[0\]\.ip: "not-an-ip"/,
        );
        return true;
      },
    );
  });

  it('checks the status a still-provisioning answer carries', async () => {
    const { provider, ctx } = await wrapped({
      ensureLoadBalancer: async () => {
        throw new RetryAfterError('provisioning', 1000, { ingress: [{ hostname: '-bad-' }] });
      },
    });
    await assert.rejects(
      provider.ensureLoadBalancer(ctx, 'test', newService('web'), []),
      /returned an invalid status while provisioning/,
    );
  });

  it('turns a throwing or wrong validateService into an error naming the provider', async () => {
    const throwing = await wrapped({
      validateService: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'foo')");
      },
    });
    assert.throws(
      () => throwing.provider.validateService(newService('web')),
      /^ProviderContractError: provider "fake" validateService threw: Cannot read/,
    );
    const wrong = await wrapped({ validateService: () => 'fine' as never });
    assert.throws(
      () => wrong.provider.validateService(newService('web')),
      /validateService returned "fine", not a list of \{ field, message \}/,
    );
  });

  it('leaves everything else as the provider has it, its own members included', async () => {
    const { provider, cloud } = await newFakeHarness();
    const guarded = guardProvider('fake', provider);
    assert.equal(guarded.name, 'fake');
    assert.deepEqual(guarded.capabilities, provider.capabilities);
    const svc = newService('web');
    assert.equal(guarded.loadBalancerName('test', svc), provider.loadBalancerName('test', svc));
    await guarded.ensureLoadBalancer((await newFakeHarness()).ctx, 'test', svc, []);
    assert.equal(cloud.calls.filter((c) => c.method === 'CreateLoadBalancer').length, 1);
  });
});
