import assert from 'node:assert/strict';
import { annotation } from '../../../../providers/aws/annotations.js';
import {
  desiredLoadBalancer,
  desiredTargets,
  instanceIdOf,
  isCidr,
  validate,
} from '../../../../providers/aws/desired.js';
import {
  newNode,
  newService,
  tweakAnnotations,
  tweakLocalTraffic,
  tweakPorts,
  tweakProviderID,
  tweakSourceRanges,
} from '../../../fixtures/builders.js';

const cluster = 'prod';

describe('aws desired state', () => {
  it('makes one listener and target group per port, on the NodePort, with ownership tags', () => {
    const svc = newService('web', tweakAnnotations({ [annotation.additionalTags]: 'team=edge' }));
    const d = desiredLoadBalancer(cluster, svc);
    assert.equal(d.listeners.length, 1);
    assert.deepEqual(d.listeners[0], {
      port: 80,
      protocol: 'TCP',
      targetGroupName: d.targetGroups[0]!.name,
    });
    assert.equal(d.targetGroups[0]!.port, 30080);
    assert.deepEqual(d.tags, {
      team: 'edge',
      'kubernetes.io/cluster/prod': 'owned',
      'kubernetes.io/service-name': 'default/web',
      'kube-lbc.io/service-uid': svc.metadata!.uid,
    });
    assert.deepEqual(d.sourceRanges, ['0.0.0.0/0']);
  });

  const protocolCases = [
    { desc: 'UDP alone', ports: [{ port: 53, protocol: 'UDP', nodePort: 30053 }], want: ['UDP'] },
    {
      desc: 'TCP and UDP on one port',
      ports: [
        { port: 53, protocol: 'UDP', nodePort: 30053 },
        { port: 53, protocol: 'TCP', nodePort: 30053 },
      ],
      want: ['TCP_UDP'],
    },
    {
      desc: 'TCP and UDP on different ports',
      ports: [
        { port: 53, protocol: 'UDP', nodePort: 30053 },
        { port: 443, protocol: 'TCP', nodePort: 30443 },
      ],
      want: ['UDP', 'TCP'],
    },
  ];
  for (const c of protocolCases) {
    it(`maps ${c.desc} to ${c.want.join(', ')}`, () => {
      const d = desiredLoadBalancer(cluster, newService('dns', tweakPorts(...c.ports)));
      assert.deepEqual(
        d.listeners.map((l) => l.protocol),
        c.want,
      );
    });
  }

  it('health-checks Cluster traffic with TCP on the traffic port', () => {
    const hc = desiredLoadBalancer(cluster, newService('web')).targetGroups[0]!.healthCheck;
    assert.deepEqual(hc, {
      protocol: 'TCP',
      port: 'traffic-port',
      intervalSeconds: 30,
      timeoutSeconds: 10,
      healthyThreshold: 3,
      unhealthyThreshold: 3,
    });
  });

  it('health-checks UDP under Cluster on kube-proxy, since a UDP port cannot answer TCP', () => {
    const svc = newService('dns', tweakPorts({ port: 53, protocol: 'UDP', nodePort: 30053 }));
    const hc = desiredLoadBalancer(cluster, svc).targetGroups[0]!.healthCheck;
    assert.deepEqual([hc.protocol, hc.port, hc.path], ['HTTP', '10256', '/healthz']);
  });

  it('health-checks Local traffic with HTTP /healthz on healthCheckNodePort, annotations overriding', () => {
    const local = newService('web', tweakLocalTraffic(32100));
    const hc = desiredLoadBalancer(cluster, local).targetGroups[0]!.healthCheck;
    assert.deepEqual(
      [hc.protocol, hc.port, hc.path, hc.timeoutSeconds],
      ['HTTP', '32100', '/healthz', 6],
    );
    local.metadata!.annotations = { [annotation.hcPath]: '/ready', [annotation.hcInterval]: '5' };
    const tuned = desiredLoadBalancer(cluster, local).targetGroups[0]!.healthCheck;
    assert.deepEqual([tuned.path, tuned.intervalSeconds, tuned.timeoutSeconds], ['/ready', 5, 4]);
  });

  it('opens a dualstack NLB to ::/0 too, unless source ranges say otherwise', () => {
    const svc = newService('web', tweakAnnotations({ [annotation.ipAddressType]: 'dualstack' }));
    assert.deepEqual(desiredLoadBalancer(cluster, svc).sourceRanges, ['0.0.0.0/0', '::/0']);
    tweakSourceRanges('10.0.0.0/8', '10.0.0.0/8')(svc);
    assert.deepEqual(desiredLoadBalancer(cluster, svc).sourceRanges, ['10.0.0.0/8']);
  });

  it('writes source ranges as AWS stores them (host bits cleared, IPv6 compressed), so a re-sync finds its own rules', () => {
    // AWS keeps 10.1.2.3/8 as 10.0.0.0/8: written as given, every later sync would see its own
    // rule as foreign, authorize the original again (InvalidPermission.Duplicate) and fail.
    const svc = newService(
      'web',
      tweakAnnotations({ [annotation.ipAddressType]: 'dualstack' }),
      tweakSourceRanges('10.1.2.3/8', '2001:0DB8:0:0::1/32', '10.0.0.0/8', '192.168.7.9/32'),
    );
    assert.deepEqual(desiredLoadBalancer(cluster, svc).sourceRanges, [
      '10.0.0.0/8',
      '192.168.7.9/32',
      '2001:db8::/32',
    ]);
  });

  it('validates ports and source ranges along with the annotations', () => {
    const svc = newService(
      'bad',
      tweakPorts(
        { port: 53, protocol: 'UDP', nodePort: 30053 },
        { port: 53, protocol: 'TCP', nodePort: 30054 },
        { port: 9, protocol: 'SCTP', nodePort: 30009 },
      ),
      tweakSourceRanges('10.0.0.0/33', 'nonsense'),
      tweakAnnotations({ [annotation.crossZone]: 'on' }),
    );
    assert.deepEqual(
      validate(svc, cluster).map((e) => e.field),
      [
        `metadata.annotations[${annotation.crossZone}]`,
        'spec.ports[1].nodePort',
        'spec.ports[2].protocol',
        'spec.loadBalancerSourceRanges[0]',
        'spec.loadBalancerSourceRanges[1]',
      ],
    );
  });

  it('refuses security-groups with source ranges, from the spec or the annotation, naming both', () => {
    const field = `metadata.annotations[${annotation.securityGroups}]`;
    const spec = newService(
      'sg',
      tweakAnnotations({ [annotation.securityGroups]: 'sg-0123abcd' }),
      tweakSourceRanges('10.0.0.0/8'),
    );
    const [error] = validate(spec, cluster);
    assert.equal(error?.field, field);
    assert.match(error!.message, /spec\.loadBalancerSourceRanges/);
    const annotated = newService(
      'sg',
      tweakAnnotations({
        [annotation.securityGroups]: 'sg-0123abcd',
        'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8',
      }),
    );
    assert.match(validate(annotated, cluster)[0]!.message, /load-balancer-source-ranges/);
    // extra-security-groups keeps kube-lbc's own group, which enforces the ranges.
    const extra = newService(
      'sg',
      tweakAnnotations({ [annotation.extraSecurityGroups]: 'sg-0123abcd' }),
      tweakSourceRanges('10.0.0.0/8'),
    );
    assert.deepEqual(validate(extra, cluster), []);
  });

  it('makes TLS listeners of the ssl-ports only, by number or name, forwarding to TCP groups', () => {
    const cert = 'arn:aws:acm:us-east-1:123456789012:certificate/abc-123';
    const svc = newService(
      'web',
      tweakPorts(
        { name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 },
        { name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 },
        { name: 'alt', port: 8443, protocol: 'TCP', nodePort: 30843 },
      ),
      tweakAnnotations({ [annotation.sslCert]: cert, [annotation.sslPorts]: 'https,8443' }),
    );
    assert.deepEqual(validate(svc, cluster), []);
    const d = desiredLoadBalancer(cluster, svc);
    assert.deepEqual(
      d.listeners.map((l) => [l.port, l.protocol, l.tls]),
      [
        [80, 'TCP', undefined],
        [443, 'TCP', { certificateArn: cert }],
        [8443, 'TCP', { certificateArn: cert }],
      ],
    );
  });

  it('refuses TLS on a UDP port, naming ssl-ports', () => {
    const svc = newService(
      'dns',
      tweakPorts({ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }),
      tweakAnnotations({
        [annotation.sslCert]: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-123',
      }),
    );
    assert.deepEqual(
      validate(svc, cluster).map((e) => e.field),
      [`metadata.annotations[${annotation.sslPorts}]`],
    );
  });

  it('recognises CIDRs of both families', () => {
    assert.deepEqual(
      ['10.0.0.0/8', '::/0', '2001:db8::/129', '10.0.0.0', '1.2.3.4/32'].map(isCidr),
      [true, true, false, false, true],
    );
  });

  it('reads instance IDs from aws:/// providerIDs and names the nodes without one', () => {
    const nodes = [
      newNode('a', tweakProviderID('aws:///us-east-1a/i-0123456789abcdef0')),
      newNode('b', tweakProviderID('aws:///us-east-1b/i-0aaa')),
      newNode('c', tweakProviderID('gce://project/zone/vm')),
      newNode('d', tweakProviderID(undefined)),
    ];
    assert.equal(instanceIdOf(nodes[0]!), 'i-0123456789abcdef0');
    assert.deepEqual(desiredTargets(nodes), {
      instanceIds: ['i-0123456789abcdef0', 'i-0aaa'],
      skipped: ['c', 'd'],
    });
  });
});
