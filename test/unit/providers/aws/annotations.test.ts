import assert from 'node:assert/strict';
import { annotation, parseAnnotations } from '../../../../providers/aws/annotations.js';
import { newService, tweakAnnotations } from '../../../fixtures/builders.js';

const cluster = 'prod';
const parse = (a: Record<string, string>) =>
  parseAnnotations(newService('web', tweakAnnotations(a)));

describe('aws annotations', () => {
  it('defaults to an internet-facing IPv4 NLB without cross-zone and no overrides', () => {
    const { settings, errors } = parseAnnotations(newService('web'));
    assert.deepEqual(errors, []);
    assert.deepEqual(settings, {
      scheme: 'internet-facing',
      crossZone: false,
      additionalTags: {},
      healthCheck: {},
      ipAddressType: 'ipv4',
    });
  });

  const valid: {
    desc: string;
    in: Record<string, string>;
    check: (s: ReturnType<typeof parse>['settings']) => void;
  }[] = [
    { desc: 'type nlb', in: { [annotation.type]: 'nlb' }, check: () => {} },
    {
      desc: 'internal true',
      in: { [annotation.internal]: 'true' },
      check: (s) => assert.equal(s.scheme, 'internal'),
    },
    {
      desc: 'legacy internal 0.0.0.0/0',
      in: { [annotation.internal]: '0.0.0.0/0' },
      check: (s) => assert.equal(s.scheme, 'internal'),
    },
    {
      desc: 'scheme internal',
      in: { [annotation.scheme]: 'internal' },
      check: (s) => assert.equal(s.scheme, 'internal'),
    },
    {
      desc: 'subnets by ID and name',
      in: { [annotation.subnets]: 'subnet-0abc, public-b' },
      check: (s) => assert.deepEqual(s.subnets, ['subnet-0abc', 'public-b']),
    },
    {
      desc: 'cross-zone',
      in: { [annotation.crossZone]: 'true' },
      check: (s) => assert.equal(s.crossZone, true),
    },
    {
      desc: 'additional tags, bare key meaning empty value',
      in: { [annotation.additionalTags]: 'team=edge, env = prod ,flag' },
      check: (s) => assert.deepEqual(s.additionalTags, { team: 'edge', env: 'prod', flag: '' }),
    },
    {
      desc: 'as many additional tags as ELBv2 leaves beside the three ownership tags',
      in: {
        [annotation.additionalTags]: Array.from({ length: 47 }, (_, i) => `k${i}=v`).join(','),
      },
      check: (s) => assert.equal(Object.keys(s.additionalTags).length, 47),
    },
    {
      desc: 'every health-check field',
      in: {
        [annotation.hcProtocol]: 'http',
        [annotation.hcPort]: '8081',
        [annotation.hcPath]: '/livez',
        [annotation.hcInterval]: '10',
        [annotation.hcTimeout]: '5',
        [annotation.hcHealthy]: '2',
        [annotation.hcUnhealthy]: '4',
      },
      check: (s) =>
        assert.deepEqual(s.healthCheck, {
          protocol: 'HTTP',
          port: 8081,
          path: '/livez',
          intervalSeconds: 10,
          timeoutSeconds: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 4,
        }),
    },
    {
      desc: 'traffic-port',
      in: { [annotation.hcPort]: 'traffic-port' },
      check: (s) => assert.equal(s.healthCheck.port, 'traffic-port'),
    },
    {
      desc: 'dualstack',
      in: { [annotation.ipAddressType]: 'dualstack' },
      check: (s) => assert.equal(s.ipAddressType, 'dualstack'),
    },
    {
      desc: 'security-groups by ID and name, and extra groups, deduplicated',
      in: {
        [annotation.securityGroups]: 'sg-0123abcd, web-clients,sg-0123abcd',
        [annotation.extraSecurityGroups]: 'monitoring (prod)',
      },
      check: (s) =>
        assert.deepEqual(s.userSecurityGroups, {
          replace: ['sg-0123abcd', 'web-clients'],
          extra: ['monitoring (prod)'],
        }),
    },
    {
      desc: 'no security group annotation',
      in: {},
      check: (s) => assert.equal(s.userSecurityGroups, undefined),
    },
  ];
  for (const c of valid) {
    it(`accepts ${c.desc}`, () => {
      const { settings, errors } = parse(c.in);
      assert.deepEqual(errors, []);
      c.check(settings);
    });
  }

  const invalid: { desc: string; in: Record<string, string>; field: string }[] = [
    { desc: 'a classic ELB type', in: { [annotation.type]: 'classic' }, field: annotation.type },
    { desc: 'internal "yes"', in: { [annotation.internal]: 'yes' }, field: annotation.internal },
    { desc: 'an unknown scheme', in: { [annotation.scheme]: 'private' }, field: annotation.scheme },
    {
      desc: 'a scheme contradicting internal',
      in: { [annotation.internal]: 'true', [annotation.scheme]: 'internet-facing' },
      field: annotation.scheme,
    },
    {
      desc: 'an empty subnet entry',
      in: { [annotation.subnets]: 'subnet-1,,subnet-2' },
      field: annotation.subnets,
    },
    { desc: 'cross-zone "1"', in: { [annotation.crossZone]: '1' }, field: annotation.crossZone },
    {
      desc: 'a reserved tag key',
      in: { [annotation.additionalTags]: 'kube-lbc.io/service-uid=x' },
      field: annotation.additionalTags,
    },
    {
      // Another cluster's GC would list the NLB as its own.
      desc: "another cluster's ownership tag",
      in: { [annotation.additionalTags]: 'team=a,kubernetes.io/cluster/other=owned' },
      field: annotation.additionalTags,
    },
    {
      desc: "this cluster's ownership tag",
      in: { [annotation.additionalTags]: `kubernetes.io/cluster/${cluster}=shared` },
      field: annotation.additionalTags,
    },
    {
      desc: 'the service-name tag',
      in: { [annotation.additionalTags]: 'kubernetes.io/service-name=kube-system/dns' },
      field: annotation.additionalTags,
    },
    {
      desc: 'any kube-lbc.io/ tag key',
      in: { [annotation.additionalTags]: 'kube-lbc.io/anything=1' },
      field: annotation.additionalTags,
    },
    {
      desc: 'an ssl-cert that is not a certificate ARN',
      in: { [annotation.sslCert]: 'my-cert' },
      field: annotation.sslCert,
    },
    {
      desc: 'ssl-ports without ssl-cert',
      in: { [annotation.sslPorts]: '443' },
      field: annotation.sslPorts,
    },
    {
      desc: 'an ssl-ports entry that is no port number or name',
      in: {
        [annotation.sslCert]: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-123',
        [annotation.sslPorts]: '443, HTTPS!',
      },
      field: annotation.sslPorts,
    },
    {
      desc: 'a negotiation policy with a space',
      in: {
        [annotation.sslCert]: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-123',
        [annotation.sslPolicy]: 'TLS 1.2',
      },
      field: annotation.sslPolicy,
    },
    {
      desc: 'an aws: tag key',
      in: { [annotation.additionalTags]: 'aws:owner=me' },
      field: annotation.additionalTags,
    },
    {
      desc: 'a UDP health check',
      in: { [annotation.hcProtocol]: 'UDP' },
      field: annotation.hcProtocol,
    },
    { desc: 'port 0', in: { [annotation.hcPort]: '0' }, field: annotation.hcPort },
    { desc: 'a relative path', in: { [annotation.hcPath]: 'healthz' }, field: annotation.hcPath },
    { desc: 'interval 1', in: { [annotation.hcInterval]: '1' }, field: annotation.hcInterval },
    {
      desc: 'a timeout of "5s"',
      in: { [annotation.hcTimeout]: '5s' },
      field: annotation.hcTimeout,
    },
    {
      desc: 'healthy threshold 11',
      in: { [annotation.hcHealthy]: '11' },
      field: annotation.hcHealthy,
    },
    {
      desc: 'unhealthy threshold -1',
      in: { [annotation.hcUnhealthy]: '-1' },
      field: annotation.hcUnhealthy,
    },
    {
      desc: 'a timeout not shorter than the interval',
      in: { [annotation.hcInterval]: '10', [annotation.hcTimeout]: '10' },
      field: annotation.hcTimeout,
    },
    {
      // AWS refuses it only when a target group is written, after other writes were made.
      desc: 'a timeout not shorter than the default 30 s interval',
      in: { [annotation.hcTimeout]: '40' },
      field: annotation.hcTimeout,
    },
    {
      // ELBv2 refuses these at CreateLoadBalancer or AddTags, after other writes were made.
      desc: 'a tag with a character ELBv2 refuses',
      in: { [annotation.additionalTags]: 'owner=alice&bob' },
      field: annotation.additionalTags,
    },
    {
      desc: 'more tags than ELBv2 allows beside the three ownership tags',
      in: {
        [annotation.additionalTags]: Array.from({ length: 48 }, (_, i) => `k${i}=v`).join(','),
      },
      field: annotation.additionalTags,
    },
    {
      desc: 'the retiring flag kube-lbc sets on the NLB',
      in: { [annotation.additionalTags]: 'kube-lbc.io/retiring-target-groups=true' },
      field: annotation.additionalTags,
    },
    {
      desc: 'ip-address-type ipv6',
      in: { [annotation.ipAddressType]: 'ipv6' },
      field: annotation.ipAddressType,
    },
    {
      desc: 'an empty security group entry',
      in: { [annotation.securityGroups]: 'sg-0123abcd,,web' },
      field: annotation.securityGroups,
    },
    {
      desc: 'an empty security-groups value',
      in: { [annotation.securityGroups]: '' },
      field: annotation.securityGroups,
    },
    {
      desc: 'a malformed group ID',
      in: { [annotation.extraSecurityGroups]: 'sg-NOTHEX' },
      field: annotation.extraSecurityGroups,
    },
    {
      desc: 'a group name with a character AWS does not allow',
      in: { [annotation.extraSecurityGroups]: 'web|clients' },
      field: annotation.extraSecurityGroups,
    },
  ];
  for (const c of invalid) {
    it(`rejects ${c.desc}, naming the annotation`, () => {
      const { errors } = parse(c.in);
      assert.deepEqual(
        errors.map((e) => e.field),
        [`metadata.annotations[${c.field}]`],
      );
      assert.ok(errors[0]!.message.length > 0);
    });
  }

  it('reports every bad annotation at once', () => {
    const { errors } = parse({
      [annotation.type]: 'alb',
      [annotation.crossZone]: 'maybe',
      [annotation.hcPort]: 'x',
    });
    assert.equal(errors.length, 3);
  });
});
