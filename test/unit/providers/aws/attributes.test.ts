import assert from 'node:assert/strict';
import { annotation, parseAnnotations } from '../../../../providers/aws/annotations.js';
import { desiredLoadBalancerAttributes } from '../../../../providers/aws/attributes.js';
import { desiredLoadBalancer, targetNodes, validate } from '../../../../providers/aws/desired.js';
import {
  newNode,
  newService,
  tweakAnnotations,
  tweakNodeLabels,
} from '../../../fixtures/builders.js';

const parse = (a: Record<string, string>) =>
  parseAnnotations(newService('web', tweakAnnotations(a)));
const fieldsOf = (a: Record<string, string>) => parse(a).errors.map((e) => e.field);
const field = (key: string) => `metadata.annotations[${key}]`;

describe('aws target group attributes', () => {
  it('gives every target group AWS defaults when the Service sets nothing', () => {
    const d = desiredLoadBalancer('prod', newService('web'));
    assert.deepEqual(d.targetGroups[0]!.attributes, {
      'deregistration_delay.timeout_seconds': '300',
      'preserve_client_ip.enabled': 'true',
      'proxy_protocol_v2.enabled': 'false',
      'stickiness.enabled': 'false',
      'stickiness.type': 'source_ip',
    });
  });

  it('turns proxy protocol v2 on for every target group with proxy-protocol "*"', () => {
    const svc = newService('web', tweakAnnotations({ [annotation.proxyProtocol]: ' * ' }));
    svc.spec!.ports!.push({ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 });
    const d = desiredLoadBalancer('prod', svc);
    assert.deepEqual(
      d.targetGroups.map((tg) => tg.attributes['proxy_protocol_v2.enabled']),
      ['true', 'true'],
    );
  });

  for (const value of ['true', '', 'http', '80']) {
    it(`refuses proxy-protocol "${value}", naming it`, () => {
      assert.deepEqual(fieldsOf({ [annotation.proxyProtocol]: value }), [
        field(annotation.proxyProtocol),
      ]);
    });
  }

  it('sets the attributes target-group-attributes names, proxy-protocol "*" taking precedence', () => {
    const svc = newService(
      'web',
      tweakAnnotations({
        [annotation.targetGroupAttributes]:
          'deregistration_delay.timeout_seconds=30, stickiness.enabled=true,stickiness.type=source_ip,preserve_client_ip.enabled=false,proxy_protocol_v2.enabled=false',
        [annotation.proxyProtocol]: '*',
      }),
    );
    assert.deepEqual(desiredLoadBalancer('prod', svc).targetGroups[0]!.attributes, {
      'deregistration_delay.timeout_seconds': '30',
      'preserve_client_ip.enabled': 'false',
      'proxy_protocol_v2.enabled': 'true',
      'stickiness.enabled': 'true',
      'stickiness.type': 'source_ip',
    });
  });

  const bad: [string, string][] = [
    ['deregistration_delay.timeout_seconds=3601', 'from 0 to 3600'],
    ['deregistration_delay.timeout_seconds=-1', 'from 0 to 3600'],
    ['deregistration_delay.timeout_seconds=', 'from 0 to 3600'],
    ['stickiness.enabled=yes', '"true" or "false"'],
    ['stickiness.type=lb_cookie', 'source_ip'],
    ['preserve_client_ip.enabled=TRUE', '"true" or "false"'],
    ['proxy_protocol_v2.enabled=1', '"true" or "false"'],
    ['slow_start.duration_seconds=30', 'not an attribute kube-lbc sets'],
    ['stickiness.enabled', 'not key=value'],
    ['=true', 'not key=value'],
    ['stickiness.enabled=true,stickiness.enabled=false', 'set twice'],
  ];
  for (const [value, message] of bad) {
    it(`refuses target-group-attributes "${value}" (${message}), naming it`, () => {
      const { errors } = parse({ [annotation.targetGroupAttributes]: value });
      assert.deepEqual(
        errors.map((e) => e.field),
        [field(annotation.targetGroupAttributes)],
      );
      assert.ok(errors[0]!.message.includes(message), errors[0]!.message);
    });
  }

  it('refuses preserve_client_ip.enabled=false with a UDP port, as AWS does', () => {
    const svc = newService(
      'dns',
      tweakAnnotations({ [annotation.targetGroupAttributes]: 'preserve_client_ip.enabled=false' }),
    );
    svc.spec!.ports = [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }];
    assert.deepEqual(
      validate(svc, 'prod').map((e) => e.field),
      [field(annotation.targetGroupAttributes)],
    );
  });

  it('refuses stickiness behind a TLS listener', () => {
    const svc = newService(
      'web',
      tweakAnnotations({
        [annotation.targetGroupAttributes]: 'stickiness.enabled=true',
        [annotation.sslCert]: 'arn:aws:iam::123456789012:server-certificate/web',
      }),
    );
    assert.deepEqual(
      validate(svc, 'prod').map((e) => e.field),
      [field(annotation.targetGroupAttributes)],
    );
  });

  it('selects target nodes by label, k=v exactly and a bare k by presence, as cloud-provider-aws', () => {
    const svc = newService(
      'web',
      tweakAnnotations({ [annotation.targetNodeLabels]: 'pool=edge,example.com/gpu' }),
    );
    const nodes = [
      newNode('a', tweakNodeLabels({ pool: 'edge', 'example.com/gpu': 'a100' })),
      newNode('b', tweakNodeLabels({ pool: 'edge' })),
      newNode('c', tweakNodeLabels({ pool: 'core', 'example.com/gpu': '' })),
      newNode('d'),
    ];
    assert.deepEqual(
      targetNodes(svc, nodes).map((n) => n.metadata!.name),
      ['a'],
    );
    assert.equal(targetNodes(newService('web'), nodes).length, 4);
  });

  it('keeps access logs off unless enabled, with the bucket and prefix only while on', () => {
    const a = { [annotation.accessLogBucket]: 'logs', [annotation.accessLogPrefix]: 'web' };
    const attrs = (extra: Record<string, string>) =>
      desiredLoadBalancerAttributes(parse({ ...a, ...extra }).settings);
    assert.deepEqual(attrs({}), {
      'load_balancing.cross_zone.enabled': 'false',
      'access_logs.s3.enabled': 'false',
    });
    assert.deepEqual(attrs({ [annotation.accessLogEnabled]: 'true' }), {
      'load_balancing.cross_zone.enabled': 'false',
      'access_logs.s3.enabled': 'true',
      'access_logs.s3.bucket': 'logs',
      'access_logs.s3.prefix': 'web',
    });
  });

  const badLogs: [Record<string, string>, string][] = [
    [{ [annotation.accessLogEnabled]: 'true' }, annotation.accessLogBucket],
    [
      { [annotation.accessLogEnabled]: '1', [annotation.accessLogBucket]: 'logs' },
      annotation.accessLogEnabled,
    ],
    [{ [annotation.accessLogBucket]: 'ab' }, annotation.accessLogBucket],
    [{ [annotation.accessLogBucket]: 'a..b' }, annotation.accessLogBucket],
    [{ [annotation.accessLogBucket]: '192.168.1.1' }, annotation.accessLogBucket],
    [{ [annotation.accessLogPrefix]: 'AWSLogs/x' }, annotation.accessLogPrefix],
  ];
  for (const [a, key] of badLogs) {
    it(`refuses access logs ${JSON.stringify(Object.values(a))}, naming ${key.split('/')[1]}`, () => {
      assert.deepEqual(fieldsOf(a), [field(key)]);
    });
  }
});
