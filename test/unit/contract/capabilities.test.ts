import assert from 'node:assert/strict';
import { validateCapabilities, validateService } from '../../../contract/capabilities.js';
import { noopLogger } from '../../../contract/logger.js';
import { createProvider } from '../../../providers/registry.js';
import { CloudCallGate } from '../../../runtime/cloud-calls.js';
import { isCidr } from '../../../contract/service-spec.js';
import type { Capabilities } from '../../../contract/provider.js';
import { newService, tweakAddPorts, tweakSourceRanges } from '../../fixtures/builders.js';

const caps: Capabilities = {
  targetsNodePorts: true,
  protocols: ['TCP'],
  mixedProtocols: false,
  requestedIP: false,
  sourceRanges: true,
  dualStack: false,
  needsProviderID: false,
  ipMode: 'VIP',
};

describe('validateCapabilities', () => {
  it('accepts a plain TCP Service', () =>
    assert.deepEqual(validateCapabilities(newService('a'), caps), []));

  it('names the port of an unsupported protocol and the mixed-protocol field', () => {
    const errors = validateCapabilities(
      newService('a', tweakAddPorts({ name: 'dns', port: 53, protocol: 'UDP' })),
      caps,
    );
    assert.deepEqual(
      errors.map((e) => e.field),
      ['spec.ports[1].protocol', 'spec.ports'],
    );
  });

  it('names each invalid source range', () => {
    const errors = validateCapabilities(
      newService('a', tweakSourceRanges('10.0.0.0/8', '10.0.0.0/33', 'nonsense')),
      caps,
    );
    assert.deepEqual(
      errors.map((e) => e.field),
      ['spec.loadBalancerSourceRanges[1]', 'spec.loadBalancerSourceRanges[2]'],
    );
  });

  it('refuses a requested IP the provider cannot honour', () => {
    const errors = validateCapabilities(
      newService('a', (s) => (s.spec!.loadBalancerIP = '192.0.2.7')),
      caps,
    );
    assert.deepEqual(
      errors.map((e) => e.field),
      ['spec.loadBalancerIP'],
    );
  });

  it('refuses dual-stack when the provider is single-stack', () => {
    const errors = validateCapabilities(
      newService('a', (s) => (s.spec!.ipFamilies = ['IPv4', 'IPv6'])),
      caps,
    );
    assert.deepEqual(
      errors.map((e) => e.field),
      ['spec.ipFamilies'],
    );
  });
});

describe('isCidr', () => {
  for (const [value, want] of [
    ['10.0.0.0/8', true],
    ['::/0', true],
    ['10.0.0.0', false],
    ['10.0.0.0/33', false],
    ['fe80::/129', false],
    ['x/1', false],
  ] as const) {
    it(`says ${want} for ${value}`, () => assert.equal(isCidr(value), want));
  }
});

describe('validateCapabilities with the source-ranges annotation', () => {
  it('names the annotation and the index of a bad CIDR', () => {
    const svc = newService(
      'a',
      (s) =>
        (s.metadata!.annotations = {
          'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8, 300.1.2.3/40',
        }),
    );
    const errors = validateCapabilities(svc, caps);
    assert.deepEqual(
      errors.map((e) => e.field),
      ['metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges][1]'],
    );
  });
});

describe('validateService: the core and the provider together', () => {
  it('lists a field once when the provider checks what the capabilities already refuse (SCTP, a bad range on aws)', async () => {
    const aws = await createProvider('aws', {
      config: { region: 'us-east-1', endpoint: 'http://127.0.0.1:1' },
      clusterName: 'test',
      logger: noopLogger,
      cloudCalls: new CloudCallGate(),
      cluster: { services: () => [], nodes: () => [] },
    });
    const svc = newService(
      'a',
      tweakAddPorts({ name: 'sctp', port: 9, protocol: 'SCTP' }),
      tweakSourceRanges('10.0.0.0/33'),
    );
    const fields = validateService(svc, aws).map((e) => e.field);
    assert.deepEqual(fields, ['spec.ports[1].protocol', 'spec.loadBalancerSourceRanges[0]']);
    await aws.close?.();
  });
});
