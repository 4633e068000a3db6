import assert from 'node:assert/strict';
import {
  nodeAddress,
  nodeWeight,
  parseServiceSettings,
} from '../../../../providers/local/annotations.js';
import { ipToInt } from '../../../../providers/local/ipv4.js';
import {
  newNode,
  newService,
  tweakAnnotations,
  tweakSourceRanges,
} from '../../../fixtures/builders.js';

describe('local Service settings', () => {
  it('defaults to rr with no affinity, requested address or source ranges', () => {
    const { settings, errors } = parseServiceSettings(newService('web'));
    assert.deepEqual(errors, []);
    assert.deepEqual(settings, {
      scheduler: 'rr',
      affinityTimeoutMs: undefined,
      requestedIP: undefined,
      requestedIPField: 'spec.loadBalancerIP',
      sourceRanges: [],
    });
  });

  it('names the annotation, not spec.loadBalancerIP, for an empty kube-lbc.io/load-balancer-ip', () => {
    const { errors } = parseServiceSettings(
      newService('web', tweakAnnotations({ 'kube-lbc.io/load-balancer-ip': '' })),
    );
    assert.deepEqual(errors, [
      {
        field: 'metadata.annotations[kube-lbc.io/load-balancer-ip]',
        message: '"" is not an IPv4 address',
      },
    ]);
  });

  it('takes the scheduler from kube-lbc.io/scheduler and rejects unknown ones by field', () => {
    assert.equal(
      parseServiceSettings(newService('a', tweakAnnotations({ 'kube-lbc.io/scheduler': 'wlc' })))
        .settings.scheduler,
      'wlc',
    );
    const { errors } = parseServiceSettings(
      newService('b', tweakAnnotations({ 'kube-lbc.io/scheduler': 'fastest' })),
    );
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.field, 'metadata.annotations[kube-lbc.io/scheduler]');
    assert.match(errors[0]!.message, /"fastest" is not one of rr, wrr/);
  });

  it('maps sessionAffinity ClientIP to sh with the Service timeout', () => {
    const svc = newService('sticky', (s) => {
      s.spec!.sessionAffinity = 'ClientIP';
      s.spec!.sessionAffinityConfig = { clientIP: { timeoutSeconds: 60 } };
    });
    const { settings, errors } = parseServiceSettings(svc);
    assert.deepEqual(errors, []);
    assert.equal(settings.scheduler, 'sh');
    assert.equal(settings.affinityTimeoutMs, 60_000);
    const conflicting = parseServiceSettings(
      newService(
        'c',
        (s) => (s.spec!.sessionAffinity = 'ClientIP'),
        tweakAnnotations({ 'kube-lbc.io/scheduler': 'rr' }),
      ),
    );
    assert.match(conflicting.errors[0]!.message, /conflicts with sessionAffinity/);
  });

  it('reads the requested address from the annotation before spec.loadBalancerIP', () => {
    const both = newService(
      'ip',
      (s) => (s.spec!.loadBalancerIP = '127.240.0.9'),
      tweakAnnotations({ 'kube-lbc.io/load-balancer-ip': '127.240.0.8' }),
    );
    assert.equal(parseServiceSettings(both).settings.requestedIP, '127.240.0.8');
    const bad = newService('bad', (s) => (s.spec!.loadBalancerIP = 'not-an-ip'));
    assert.equal(parseServiceSettings(bad).errors[0]!.field, 'spec.loadBalancerIP');
  });

  it('parses source ranges and names a bad one by index', () => {
    const { settings, errors } = parseServiceSettings(
      newService('r', tweakSourceRanges('10.0.0.0/8', 'x/99')),
    );
    assert.equal(settings.sourceRanges.length, 1);
    assert.equal(errors[0]!.field, 'spec.loadBalancerSourceRanges[1]');
  });

  it('reads source ranges as the core validates them: whole CIDR blocks, nothing looser', () => {
    // The proxy agent has only this parser: "10.0.0.0/" read as /0 would open the Service to all.
    for (const loose of [
      '10.0.0.0/',
      '10.0.0.0/ 8',
      '10.0.0.0/8.0',
      '10.0.0.5-10.0.0.9',
      '10.0.0.7',
    ]) {
      const { errors } = parseServiceSettings(newService('r', tweakSourceRanges(loose)));
      assert.deepEqual(
        errors.map((e) => e.field),
        ['spec.loadBalancerSourceRanges[0]'],
        `"${loose}" was accepted`,
      );
    }
    // A source range is a prefix, not a subnet's hosts: its first and last address are clients too.
    const { settings } = parseServiceSettings(newService('r', tweakSourceRanges('10.0.1.0/24')));
    assert.deepEqual(settings.sourceRanges, [
      { first: ipToInt('10.0.1.0'), last: ipToInt('10.0.1.255') },
    ]);
  });

  it('reads node weight and address', () => {
    const node = newNode('node-3', (n) => {
      n.metadata!.annotations = { 'kube-lbc.io/weight': '5' };
    });
    assert.equal(nodeWeight(node), 5);
    assert.equal(nodeWeight(newNode('node-4')), 1);
    assert.equal(nodeAddress(node), '127.0.0.5');
    const external = newNode('node-5', (n) => {
      n.status!.addresses = [{ type: 'ExternalIP', address: '203.0.113.5' }];
    });
    assert.equal(nodeAddress(external), '203.0.113.5');
  });
});
