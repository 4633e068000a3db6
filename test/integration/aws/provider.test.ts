/**
 * The AWS provider against moto (or LocalStack with LOCALSTACK_ENDPOINT): create, change, node
 * churn, delete. After each test the harness checks that the account holds exactly what the
 * live Services need. Crash and garbage-collection cases are in recovery.test.ts.
 */
import assert from 'node:assert/strict';
import { EC2Client, StopInstancesCommand } from '@aws-sdk/client-ec2';
import {
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { annotation } from '../../../providers/aws/annotations.js';
import { InvalidServiceError, RetryAfterError } from '../../../contract/errors.js';
import {
  newService,
  tweakAddPorts,
  tweakAnnotations,
  tweakLocalTraffic,
  tweakPorts,
  tweakProviderID,
  tweakSourceRanges,
  newNode,
} from '../../fixtures/builders.js';
import { nodeSecurityGroupName } from '../../support/moto.js';
import { clusterName, useAwsHarness } from './harness.js';
import { readInventory, type Inventory } from './inventory.js';

/** The NLB's own security group (the node group is the other one). */
const frontend = (inv: Inventory) => inv.securityGroups.find((g) => g.name.endsWith('-frontend'))!;

describe('aws provider against moto', function () {
  this.timeout(30_000);
  const h = useAwsHarness();

  it('creates an NLB, reports provisioning with the hostname, then Ready once active', async () => {
    const svc = newService(
      'web',
      tweakAddPorts({ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }),
    );
    const nodes = h.nodes();
    const first = await h.provider.ensureLoadBalancer(h.ctx, clusterName, svc, nodes).then(
      () => assert.fail('a fresh NLB is provisioning'),
      (err: unknown) => err,
    );
    assert.ok(first instanceof RetryAfterError);
    const hostname = first.status?.ingress[0]?.hostname;
    assert.match(hostname ?? '', /^k8s-[0-9a-f]{28}-.*\.elb\.amazonaws\.com$/);

    const status = await h.ensureReady(svc, nodes);
    assert.deepEqual(status, { ingress: [{ hostname }] });
    const [lb] = (await readInventory()).loadBalancers;
    assert.deepEqual(
      lb!.subnets,
      [...h.account.publicSubnets].sort(),
      'internet-facing uses the elb-tagged subnets',
    );
    assert.deepEqual(await h.provider.getLoadBalancer(h.ctx, clusterName, svc), {
      ingress: [{ hostname }],
    });
  });

  it('serves TCP and UDP on one port as a TCP_UDP listener and target group', async () => {
    const svc = newService(
      'dns',
      tweakPorts(
        { name: 'dns-udp', port: 53, protocol: 'UDP', nodePort: 30053 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', nodePort: 30053 },
      ),
    );
    await h.ensureReady(svc, h.nodes());
    const inv = await readInventory();
    assert.equal(inv.targetGroups.length, 1);
    assert.equal(inv.targetGroups[0]!.protocol, 'TCP_UDP');
    assert.match(
      inv.loadBalancers[0]!.listeners[0]!,
      /^53\/TCP_UDP -> k8s-[0-9a-f]{9}-tcpudp-53-30053$/,
    );
    assert.deepEqual(frontend(inv).ingress, ['tcp/53 from 0.0.0.0/0', 'udp/53 from 0.0.0.0/0']);
  });

  it('makes no write call for an unchanged Service', async () => {
    const svc = newService('web');
    const nodes = h.nodes();
    await h.ensureReady(svc, nodes);
    h.calls.clear();
    await h.provider.ensureLoadBalancer(h.ctx, clusterName, svc, nodes);
    assert.deepEqual(h.calls.writes(), []);
    assert.ok(h.calls.operations.length > 0);
  });

  it('replaces listener and target group when a port changes, and deletes the old group', async () => {
    const svc = newService('web');
    await h.ensureReady(svc, h.nodes());
    const changed = structuredClone(svc);
    changed.spec!.ports = [{ name: 'http', port: 8080, protocol: 'TCP', nodePort: 30081 }];
    h.calls.clear();
    await h.ensureReady(changed, h.nodes());
    assert.deepEqual(h.calls.writes().sort(), [
      'AddTags', // retiringTag on the NLB, until the old group is gone
      'AuthorizeSecurityGroupIngress', // the NLB group: clients on the new port
      'AuthorizeSecurityGroupIngress', // the node group: the NLB on the new NodePort
      'CreateListener',
      'CreateTargetGroup',
      'DeleteListener',
      'DeleteTargetGroup',
      'RegisterTargets',
      'RemoveTags',
      'RevokeSecurityGroupIngress',
      'RevokeSecurityGroupIngress',
    ]);
  });

  it('keeps a port served while its NodePort changes, until the listener has moved', async () => {
    const svc = newService('web');
    await h.ensureReady(svc, h.nodes());
    const changed = structuredClone(svc);
    changed.spec!.ports![0]!.nodePort = 30090;
    // The new group cannot be made (a quota, say): the change fails, port 80 must not.
    h.calls.refuse = 'CreateTargetGroup';
    await assert.rejects(
      h.provider.ensureLoadBalancer(h.ctx, clusterName, changed, h.nodes()),
      /CreateTargetGroup refused/,
    );
    const inv = await readInventory();
    assert.match(inv.loadBalancers[0]!.listeners[0]!, /^80\/TCP -> k8s-[0-9a-f]{9}-tcp-80-30080$/);
    const nodeGroup = inv.securityGroups.find((g) => g.name === nodeSecurityGroupName)!;
    assert.ok(
      nodeGroup.ingress.includes(`tcp/30080 from ${frontend(inv).name}`),
      `the NLB still reaches the NodePort its listener uses: ${nodeGroup.ingress.join(', ')}`,
    );
    h.calls.refuse = undefined;
    await h.ensureReady(changed, h.nodes());
  });

  it('registers a joining node and deregisters a leaving one, touching only targets', async () => {
    const svc = newService(
      'web',
      tweakAddPorts({ name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 }),
    );
    await h.ensureReady(svc, h.nodes(2));
    h.calls.clear();
    await h.provider.updateLoadBalancerHosts(h.ctx, clusterName, svc, h.nodes(3));
    assert.deepEqual(h.calls.writes(), ['RegisterTargets', 'RegisterTargets']);
    h.calls.clear();
    const [, second, third] = h.nodes(3);
    await h.provider.updateLoadBalancerHosts(h.ctx, clusterName, svc, [second!, third!]);
    assert.deepEqual(h.calls.writes(), ['DeregisterTargets', 'DeregisterTargets']);
    h.live.set(svc.metadata!.uid!, { service: svc, nodes: [second!, third!] });
  });

  it('warns once, by Event and log, about aws-load-balancer-* annotations it does not serve, and again when they change', async () => {
    const backend = 'service.beta.kubernetes.io/aws-load-balancer-backend-protocol';
    const targetType = 'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type';
    const svc = newService(
      'web',
      tweakAnnotations({ [backend]: 'tcp', [annotation.crossZone]: 'true', other: 'x' }),
    );
    const warnings = () => h.events.filter((e) => e.reason === 'UnsupportedAnnotation');
    await h.ensureReady(svc, h.nodes());
    await h.ensureReady(svc, h.nodes());
    assert.deepEqual(
      warnings().map((e) => [e.type, e.message]),
      [['Warning', `kube-lbc's aws provider does not serve ${backend}: it has no effect`]],
    );
    svc.metadata!.annotations![targetType] = 'ip';
    await h.ensureReady(svc, h.nodes());
    await h.ensureReady(svc, h.nodes());
    assert.equal(warnings().length, 2);
    assert.ok(warnings()[1]!.message.includes(`${backend}, ${targetType}: they have no effect`));
  });

  it('skips a node without an AWS providerID and records a Warning naming it', async () => {
    const svc = newService('web');
    const nodes = [...h.nodes(2), newNode('bare-9', tweakProviderID(undefined))];
    await h.ensureReady(svc, nodes);
    assert.ok(h.events.some((e) => e.type === 'Warning' && e.message.includes('bare-9')));
  });

  it('does not register an instance EC2 does not know or that is not running (AWS would refuse the batch)', async () => {
    const svc = newService('web');
    const real = h.nodes(2);
    const ghost = newNode('ghost-7', tweakProviderID('aws:///us-east-1a/i-0000000000000dead'));
    const [, , stopped] = h.nodes(3);
    const ec2 = new EC2Client({});
    await ec2.send(new StopInstancesCommand({ InstanceIds: [h.account.instances[2]!.id] }));
    ec2.destroy();
    await h.ensureReady(svc, [...real, ghost, stopped!]);
    // The harness checks the targets are exactly the two running instances.
    h.live.set(svc.metadata!.uid!, { service: svc, nodes: real });
  });

  it('health-checks externalTrafficPolicy Local on healthCheckNodePort /healthz, and follows annotations', async () => {
    const svc = newService('web', tweakLocalTraffic(32000));
    await h.ensureReady(svc, h.nodes());
    assert.equal(
      (await readInventory()).targetGroups[0]!.healthCheck,
      'HTTP 32000 /healthz every 30s',
    );

    const tuned = structuredClone(svc);
    tuned.metadata!.annotations = { [annotation.hcPath]: '/ready', [annotation.hcInterval]: '10' };
    h.calls.clear();
    await h.ensureReady(tuned, h.nodes());
    assert.deepEqual(h.calls.writes(), ['ModifyTargetGroup']);
    assert.equal(
      (await readInventory()).targetGroups[0]!.healthCheck,
      'HTTP 32000 /ready every 10s',
    );
  });

  it('admits only loadBalancerSourceRanges through the NLB security group, and follows changes', async () => {
    const svc = newService('web', tweakSourceRanges('10.0.0.0/8', '192.168.1.0/24'));
    await h.ensureReady(svc, h.nodes());
    assert.deepEqual(frontend(await readInventory()).ingress, [
      'tcp/80 from 10.0.0.0/8',
      'tcp/80 from 192.168.1.0/24',
    ]);
    const narrowed = structuredClone(svc);
    narrowed.spec!.loadBalancerSourceRanges = ['10.0.0.0/8', '172.16.0.0/12'];
    h.calls.clear();
    await h.ensureReady(narrowed, h.nodes());
    assert.deepEqual(h.calls.writes().sort(), [
      'AuthorizeSecurityGroupIngress',
      'RevokeSecurityGroupIngress',
    ]);
    assert.deepEqual(frontend(await readInventory()).ingress, [
      'tcp/80 from 10.0.0.0/8',
      'tcp/80 from 172.16.0.0/12',
    ]);
  });

  it('follows annotation changes: cross-zone, extra tags, internal scheme (a new NLB)', async () => {
    const svc = newService('web');
    await h.ensureReady(svc, h.nodes());
    const tagged = structuredClone(svc);
    tagged.metadata!.annotations = {
      [annotation.crossZone]: 'true',
      [annotation.additionalTags]: 'team=edge,cost-center=42',
    };
    h.calls.clear();
    await h.ensureReady(tagged, h.nodes());
    assert.deepEqual(h.calls.writes().sort(), ['AddTags', 'ModifyLoadBalancerAttributes']);
    let inv = await readInventory();
    assert.equal(inv.loadBalancers[0]!.crossZone, 'true');
    assert.equal(inv.loadBalancers[0]!.tags.team, 'edge');
    assert.equal(inv.targetGroups[0]!.tags['cost-center'], '42');

    const internal = structuredClone(tagged);
    internal.metadata!.annotations![annotation.scheme] = 'internal';
    await h.ensureReady(internal, h.nodes());
    inv = await readInventory();
    assert.equal(inv.loadBalancers[0]!.scheme, 'internal');
    assert.deepEqual(inv.loadBalancers[0]!.subnets, [...h.account.privateSubnets].sort());
  });

  it('deletes the old target group when one update changes both the scheme and the port', async () => {
    const svc = newService('web');
    await h.ensureReady(svc, h.nodes());
    const moved = structuredClone(svc);
    moved.metadata!.annotations = { [annotation.scheme]: 'internal' };
    moved.spec!.ports = [{ name: 'http', port: 8080, protocol: 'TCP', nodePort: 30081 }];
    // The old NLB goes, and with it the only listing that knew the old group.
    await h.ensureReady(moved, h.nodes());
    assert.deepEqual(
      (await readInventory()).targetGroups.map((tg) => tg.name.replace(/^k8s-[0-9a-f]{9}-/, '')),
      ['tcp-8080-30081'],
    );
  });

  it('places the NLB in the subnets the annotation names, by ID or Name tag, and follows a change', async () => {
    const [publicA, publicB] = h.account.publicSubnets;
    const svc = newService(
      'web',
      tweakAnnotations({ [annotation.subnets]: `${publicA}, elb-us-east-1b` }),
    );
    await h.ensureReady(svc, h.nodes());
    assert.deepEqual((await readInventory()).loadBalancers[0]!.subnets, [publicA, publicB].sort());

    const moved = structuredClone(svc);
    moved.metadata!.annotations![annotation.subnets] =
      'internal-elb-us-east-1a,internal-elb-us-east-1b';
    h.calls.clear();
    await h.ensureReady(moved, h.nodes());
    assert.deepEqual(h.calls.writes(), ['SetSubnets']);
    assert.deepEqual(
      (await readInventory()).loadBalancers[0]!.subnets,
      [...h.account.privateSubnets].sort(),
    );
  });

  it('names a subnet it cannot find, and creates nothing', async () => {
    const svc = newService('web', tweakAnnotations({ [annotation.subnets]: 'no-such-subnet' }));
    await assert.rejects(
      h.provider.ensureLoadBalancer(h.ctx, clusterName, svc, h.nodes()),
      /subnets not found: no-such-subnet/,
    );
    assert.deepEqual(h.calls.writes(), []);
  });

  it('makes no write after ctx.signal aborts mid-create (leadership lost), whatever call comes next', async () => {
    const svc = newService('web');
    const lost = new AbortController();
    const ctx = { ...h.ctx, signal: lost.signal };
    // The first write lands, then the lease is gone: a new leader may be writing from now on.
    h.calls.afterCall = (operation) => {
      if (operation === 'CreateSecurityGroup') lost.abort(new Error('lost leadership'));
    };
    await assert.rejects(
      h.provider.ensureLoadBalancer(ctx, clusterName, svc, h.nodes()),
      /lost leadership/,
    );
    assert.deepEqual(h.calls.writes(), ['CreateSecurityGroup']);
    h.calls.afterCall = undefined;
    await h.provider.ensureLoadBalancerDeleted(h.ctx, clusterName, svc);
  });

  it('keeps the NLB when a scheme change has nowhere to put the new one', async () => {
    const svc = newService('web');
    await h.ensureReady(svc, h.nodes());
    const before = await readInventory();
    const internal = structuredClone(svc);
    internal.metadata!.annotations = {
      [annotation.scheme]: 'internal',
      [annotation.subnets]: 'no-such-subnet',
    };
    h.calls.clear();
    await assert.rejects(
      h.provider.ensureLoadBalancer(h.ctx, clusterName, internal, h.nodes()),
      /subnets not found: no-such-subnet/,
    );
    // Deleting first would leave the Service with no load balancer until the subnets exist.
    assert.deepEqual(h.calls.writes(), []);
    assert.deepEqual(await readInventory(), before);
  });

  it('serves IPv4 and IPv6 with ip-address-type dualstack, open to ::/0 as well', async () => {
    const svc = newService('web', tweakAnnotations({ [annotation.ipAddressType]: 'dualstack' }));
    await h.ensureReady(svc, h.nodes());
    const inv = await readInventory();
    assert.equal(inv.loadBalancers[0]!.ipAddressType, 'dualstack');
    assert.deepEqual(frontend(inv).ingress, ['tcp/80 from 0.0.0.0/0', 'tcp/80 from ::/0']);
  });

  it('terminates TLS on the ssl-ports with ssl-cert and the negotiation policy, forwarding TCP', async () => {
    const cert = 'arn:aws:iam::123456789012:server-certificate/web';
    const svc = newService(
      'web',
      tweakAddPorts({ name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 }),
      tweakAnnotations({
        [annotation.sslCert]: cert,
        [annotation.sslPorts]: 'https',
        [annotation.sslPolicy]: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      }),
    );
    await h.ensureReady(svc, h.nodes());
    const inv = await readInventory();
    assert.deepEqual(inv.loadBalancers[0]!.tls, [
      `443 ${cert} ELBSecurityPolicy-TLS13-1-2-2021-06`,
    ]);
    assert.deepEqual(
      inv.targetGroups.map((tg) => tg.protocol),
      ['TCP', 'TCP'],
    );
    h.calls.clear();
    await h.ensureReady(svc, h.nodes());
    assert.deepEqual(h.calls.writes(), [], 'a no-op resync writes nothing');

    const wrong = structuredClone(svc);
    wrong.metadata!.annotations![annotation.sslPorts] = '8443';
    assert.deepEqual(
      h.provider.validateService(wrong).map((e) => [e.field, e.message]),
      [[`metadata.annotations[${annotation.sslPorts}]`, '"8443" names no port of the Service']],
    );
  });

  it('rejects bad annotations, naming each one, without a single AWS call', async () => {
    const svc = newService(
      'web',
      tweakAnnotations({
        [annotation.type]: 'classic',
        [annotation.hcInterval]: 'often',
        [annotation.ipAddressType]: 'ipv6-only',
        [annotation.additionalTags]: `kubernetes.io/cluster/${clusterName}=mine`,
      }),
    );
    const fields = h.provider.validateService(svc).map((e) => e.field);
    assert.deepEqual(fields, [
      `metadata.annotations[${annotation.type}]`,
      `metadata.annotations[${annotation.additionalTags}]`,
      `metadata.annotations[${annotation.hcInterval}]`,
      `metadata.annotations[${annotation.ipAddressType}]`,
    ]);
    await assert.rejects(
      h.provider.ensureLoadBalancer(h.ctx, clusterName, svc, h.nodes()),
      InvalidServiceError,
    );
    assert.deepEqual(h.calls.operations, []);
  });

  it('deletes everything, and deleting again succeeds', async () => {
    const keep = newService('keep');
    const gone = newService(
      'gone',
      tweakAddPorts({ name: 'q', port: 5000, protocol: 'UDP', nodePort: 30500 }),
    );
    await h.ensureReady(keep, h.nodes());
    await h.ensureReady(gone, h.nodes());
    await h.provider.ensureLoadBalancerDeleted(h.ctx, clusterName, gone);
    h.live.delete(gone.metadata!.uid!);
    h.calls.clear();
    await h.provider.ensureLoadBalancerDeleted(h.ctx, clusterName, gone);
    assert.deepEqual(h.calls.writes(), []);
  });

  it('recreates an NLB deleted out of band on the next ensure', async () => {
    const svc = newService('web');
    await h.ensureReady(svc, h.nodes());
    const elb = new ElasticLoadBalancingV2Client({});
    const [lb] = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!;
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb!.LoadBalancerArn }));
    elb.destroy();
    await h.ensureReady(svc, h.nodes());
  });
});
