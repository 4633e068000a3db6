import assert from 'node:assert/strict';
import { desiredLoadBalancer, validate } from '../../../providers/aws/desired.js';
import { createFakeCloud, createFakeProvider } from '../../../providers/fake/index.js';
import { parseServiceSettings } from '../../../providers/local/annotations.js';
import {
  SOURCE_RANGES_ANNOTATION,
  canonicalCidr,
  sourceRangesOf,
} from '../../../contract/service-spec.js';
import { CloudCallGate } from '../../../runtime/cloud-calls.js';
import { noopLogger } from '../../../contract/logger.js';
import { newService, tweakAnnotations, tweakSourceRanges } from '../../fixtures/builders.js';

const byAnnotation = () =>
  newService(
    'web',
    tweakAnnotations({ [SOURCE_RANGES_ANNOTATION]: ' 10.0.0.0/8, 192.168.1.0/24 ' }),
  );

describe('source ranges as upstream reads them', () => {
  it('come from the spec field when it is set, and the annotation is then ignored', () => {
    const svc = newService(
      'web',
      tweakSourceRanges('172.16.0.0/12'),
      tweakAnnotations({ [SOURCE_RANGES_ANNOTATION]: '10.0.0.0/8' }),
    );
    assert.deepEqual(sourceRangesOf(svc), {
      ranges: ['172.16.0.0/12'],
      field: 'spec.loadBalancerSourceRanges',
    });
  });

  it('have one canonical form per CIDR: host bits cleared, IPv6 lower-case and compressed', () => {
    const cases: [string, string][] = [
      ['10.1.2.3/8', '10.0.0.0/8'],
      ['0.0.0.0/0', '0.0.0.0/0'],
      ['1.2.3.4/32', '1.2.3.4/32'],
      [' 192.168.1.77/24 ', '192.168.1.0/24'],
      ['::/0', '::/0'],
      ['2001:0DB8:0:0::1/32', '2001:db8::/32'],
      ['2001:db8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128'],
      ['fe80::1/10', 'fe80::/10'],
    ];
    assert.deepEqual(
      cases.map(([input]) => canonicalCidr(input)),
      cases.map(([, want]) => want),
    );
  });

  it('come from the annotation when the field is empty, trimmed', () => {
    assert.deepEqual(sourceRangesOf(byAnnotation()).ranges, ['10.0.0.0/8', '192.168.1.0/24']);
  });

  it('restrict the AWS security group when only the annotation is set', () => {
    assert.deepEqual(desiredLoadBalancer('prod', byAnnotation()).sourceRanges, [
      '10.0.0.0/8',
      '192.168.1.0/24',
    ]);
  });

  it('are refused by AWS naming the annotation when one is not a CIDR', () => {
    const svc = newService(
      'web',
      tweakAnnotations({ [SOURCE_RANGES_ANNOTATION]: '10.0.0.0/8,nonsense' }),
    );
    assert.ok(
      validate(svc, 'prod').some(
        (e) => e.field === `metadata.annotations[${SOURCE_RANGES_ANNOTATION}][1]`,
      ),
    );
  });

  it('restrict the local balancer when only the annotation is set', () => {
    const { settings, errors } = parseServiceSettings(byAnnotation());
    assert.deepEqual(errors, []);
    assert.equal(settings.sourceRanges.length, 2);
  });

  it('restrict the fake load balancer when only the annotation is set', async () => {
    const cloud = createFakeCloud();
    const provider = await createFakeProvider(cloud)({
      config: {},
      clusterName: 'test',
      logger: noopLogger,
      cloudCalls: new CloudCallGate(),
      cluster: { services: () => [], nodes: () => [] },
    });
    const ctx = { signal: new AbortController().signal, logger: noopLogger, recordEvent: () => {} };
    await provider.ensureLoadBalancer(ctx, 'test', byAnnotation(), []);
    assert.deepEqual(cloud.loadBalancers()[0]!.sourceRanges, ['10.0.0.0/8', '192.168.1.0/24']);
  });
});
