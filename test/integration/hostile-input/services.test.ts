/**
 * The hostile-input catalogue, Services: one row per kind of bad Service, for the local and aws
 * providers and for a plugin that answers badly. Each row checks the condition, the Warning and
 * that a good Service created beside it converges (`runServiceRow`). A bad source range, in the
 * spec or its annotation, is refused by the API server itself (422), so it has no row here.
 */
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { RetryAfterError } from '../../../contract/errors.js';
import type { LoadBalancerProvider, ProviderFactory } from '../../../contract/provider.js';
import { createAwsClients } from '../../../providers/aws/clients.js';
import { parseAwsConfig } from '../../../providers/aws/config.js';
import { AwsProvider } from '../../../providers/aws/provider.js';
import { createFakeCloud, createFakeProvider } from '../../../providers/fake/index.js';
import { guardProvider } from '../../../providers/guard.js';
import { createLocalProvider } from '../../../providers/local/index.js';
import { newNode, tweakAddPorts, tweakProviderID, type Tweak } from '../../fixtures/builders.js';
import { startTestCluster, type TestCluster } from '../../support/cluster.js';
import { seedAccount, startAwsEndpoint, type AwsTestEndpoint } from '../../support/moto.js';
import { annotate, FORGED, HUGE, runServiceRow, type ServiceRow } from './catalogue.js';

const spec =
  (change: (s: NonNullable<V1Service['spec']>) => void): Tweak<V1Service> =>
  (s) =>
    change(s.spec!);
const sctp = tweakAddPorts({ name: 'sctp', port: 9, protocol: 'SCTP' });

export const localRows: ServiceRow[] = [
  {
    kind: 'an unknown scheduler',
    tweaks: [annotate({ 'kube-lbc.io/scheduler': 'fastest' })],
    reason: 'Invalid',
    message: /annotations\[kube-lbc\.io\/scheduler\]: "fastest" is not one of rr/,
  },
  {
    kind: 'a 200 KB scheduler value',
    tweaks: [annotate({ 'kube-lbc.io/scheduler': HUGE })],
    reason: 'Invalid',
    message: /scheduler\]: "x+\.\.\.\(\d+ more characters\)"/,
  },
  {
    kind: 'a scheduler value with a line break',
    tweaks: [annotate({ 'kube-lbc.io/scheduler': FORGED })],
    reason: 'Invalid',
    message: /"rr\\nINFO {2}ensured/,
  },
  {
    kind: 'an empty load-balancer-ip annotation',
    tweaks: [annotate({ 'kube-lbc.io/load-balancer-ip': '' })],
    reason: 'Invalid',
    message: /annotations\[kube-lbc\.io\/load-balancer-ip\]: "" is not an IPv4 address/,
  },
  {
    kind: 'a load-balancer-ip annotation that is no IP',
    tweaks: [annotate({ 'kube-lbc.io/load-balancer-ip': 'ten.0.0.1' })],
    reason: 'Invalid',
    message: /load-balancer-ip\]: "ten\.0\.0\.1" is not an IPv4 address/,
  },
  {
    kind: 'spec.loadBalancerIP outside the pool',
    tweaks: [spec((s) => (s.loadBalancerIP = '127.250.0.9'))],
    reason: 'Invalid',
    message: /spec\.loadBalancerIP: "127\.250\.0\.9" is not in the address pool/,
  },
  {
    kind: "the pool CIDR's network address",
    tweaks: [spec((s) => (s.loadBalancerIP = '127.244.0.0'))],
    reason: 'Invalid',
    message: /spec\.loadBalancerIP: "127\.244\.0\.0" is not in the address pool/,
  },
  {
    kind: "the pool CIDR's broadcast address",
    tweaks: [annotate({ 'kube-lbc.io/load-balancer-ip': '127.244.0.255' })],
    reason: 'Invalid',
    message: /load-balancer-ip\]: "127\.244\.0\.255" is not in the address pool/,
  },
  {
    kind: 'an IPv6 requested address',
    tweaks: [annotate({ 'kube-lbc.io/load-balancer-ip': '2001:db8::1' })],
    reason: 'Invalid',
    message: /"2001:db8::1" is not an IPv4 address/,
  },
  {
    kind: 'an SCTP port',
    tweaks: [sctp],
    reason: 'Invalid',
    message: /spec\.ports\[1\]\.protocol: protocol SCTP is not supported/,
  },
  {
    kind: 'a 200 KB load-balancer-ip annotation',
    tweaks: [annotate({ 'kube-lbc.io/load-balancer-ip': HUGE })],
    reason: 'Invalid',
    message: /load-balancer-ip\]: "x+\.\.\.\(\d+ more characters\)" is not an IPv4 address/,
  },
  {
    kind: 'a load-balancer-ip annotation with a control character',
    tweaks: [annotate({ 'kube-lbc.io/load-balancer-ip': '127.244.0.9\u001b[2J' })],
    reason: 'Invalid',
    message: /"127\.244\.0\.9\\u001b\[2J" is not an IPv4 address/,
  },
  {
    kind: 'a scheduler contradicting ClientIP affinity',
    tweaks: [
      annotate({ 'kube-lbc.io/scheduler': 'lc' }),
      spec((s) => (s.sessionAffinity = 'ClientIP')),
    ],
    reason: 'Invalid',
    message: /"lc" conflicts with sessionAffinity ClientIP/,
  },
];

const aws = (suffix: string, value: string) =>
  annotate({ [`service.beta.kubernetes.io/aws-load-balancer-${suffix}`]: value });

export const awsRows: ServiceRow[] = [
  {
    kind: 'a load-balancer type other than nlb',
    tweaks: [aws('type', 'alb')],
    reason: 'Invalid',
    message: /aws-load-balancer-type\]: "alb" is not supported/,
  },
  {
    kind: 'an internal flag that is no boolean',
    tweaks: [aws('internal', 'maybe')],
    reason: 'Invalid',
    message: /aws-load-balancer-internal\]: "maybe" is not "true" or "false"/,
  },
  {
    kind: 'an unknown scheme',
    tweaks: [aws('scheme', 'public')],
    reason: 'Invalid',
    message: /aws-load-balancer-scheme\]: "public" is not "internal" or "internet-facing"/,
  },
  {
    kind: 'a scheme contradicting the internal flag',
    tweaks: [aws('scheme', 'internal'), aws('internal', 'false')],
    reason: 'Invalid',
    message: /"internal" contradicts/,
  },
  {
    kind: 'a subnet list with an empty entry',
    tweaks: [aws('subnets', 'subnet-1,,subnet-2')],
    reason: 'Invalid',
    message: /aws-load-balancer-subnets\]: "subnet-1,,subnet-2" has an empty entry/,
  },
  {
    kind: 'a cross-zone flag that is no boolean',
    tweaks: [aws('cross-zone-load-balancing-enabled', 'yes')],
    reason: 'Invalid',
    message: /cross-zone-load-balancing-enabled\]: "yes" is not "true" or "false"/,
  },
  {
    kind: 'an unknown IP address type',
    tweaks: [aws('ip-address-type', 'ipv5')],
    reason: 'Invalid',
    message: /"ipv5" is not "ipv4" or "dualstack"/,
  },
  {
    kind: 'a health-check protocol NLBs lack',
    tweaks: [aws('healthcheck-protocol', 'UDP')],
    reason: 'Invalid',
    message: /healthcheck-protocol\]: "UDP" is not TCP, HTTP or HTTPS/,
  },
  {
    kind: 'a health-check port out of range',
    tweaks: [aws('healthcheck-port', '70000')],
    reason: 'Invalid',
    message: /healthcheck-port\]: "70000" is not "traffic-port" or a port/,
  },
  {
    kind: 'a relative health-check path',
    tweaks: [aws('healthcheck-protocol', 'HTTP'), aws('healthcheck-path', 'healthz')],
    reason: 'Invalid',
    message: /healthcheck-path\]: "healthz" is not an absolute URL path/,
  },
  {
    kind: 'a health-check interval that is no number',
    tweaks: [aws('healthcheck-interval', '1e9')],
    reason: 'Invalid',
    message: /healthcheck-interval\]: "1e9" is not a whole number/,
  },
  {
    kind: 'a tag with no key',
    tweaks: [aws('additional-resource-tags', '=v')],
    reason: 'Invalid',
    message: /additional-resource-tags\]: .*has no tag key/,
  },
  {
    kind: 'a tag in the reserved aws: namespace',
    tweaks: [aws('additional-resource-tags', 'aws:owner=me')],
    reason: 'Invalid',
    message: /reserved "aws:" prefix/,
  },
  {
    kind: 'a 200 KB subnet list',
    tweaks: [aws('subnets', `${HUGE},`)],
    reason: 'Invalid',
    message: /aws-load-balancer-subnets\]: "x+\.\.\.\(\d+ more characters\)/,
  },
  {
    kind: 'a tag value past 256 characters',
    tweaks: [aws('additional-resource-tags', `team=${HUGE}`)],
    reason: 'Invalid',
    message: /tag "team" has a value longer than 256 characters/,
  },
  {
    kind: 'a health-check timeout that is no number',
    tweaks: [aws('healthcheck-timeout', 'soon')],
    reason: 'Invalid',
    message: /healthcheck-timeout\]: "soon" is not a whole number/,
  },
  // Listed once: the core's capability check and the provider's own both refused it before.
  {
    kind: 'an SCTP port, listed once',
    tweaks: [sctp],
    reason: 'Invalid',
    message:
      /^Invalid Service, load balancer left unchanged: spec\.ports\[1\]\.protocol: protocol SCTP is not supported by this provider \(supported: TCP, UDP\)$/,
  },
];

/** What the hostile plugin does for a Service, by its `test.kube-lbc.io/misbehave` annotation. */
const misbehave = (how: string) => annotate({ 'test.kube-lbc.io/misbehave': how });

export const pluginRows: ServiceRow[] = [
  {
    kind: 'an ingress IP that is no IP',
    tweaks: [misbehave('bad-ip')],
    reason: 'Failed',
    message:
      /provider "hostile" returned an invalid status: ingress\[0\]\.ip: "999\.1\.1\.1" is not an IP address/,
  },
  {
    kind: 'an ingress hostname that is no DNS name',
    tweaks: [misbehave('bad-hostname')],
    reason: 'Failed',
    message: /ingress\[0\]\.hostname: "lb_1\.example\.com" is not a DNS name/,
  },
  {
    kind: 'an IP given as hostname',
    tweaks: [misbehave('ip-hostname')],
    reason: 'Failed',
    message: /ingress\[0\]\.hostname: "192\.0\.2\.1" is an IP address/,
  },
  {
    kind: 'an ingress entry with neither IP nor hostname',
    tweaks: [misbehave('empty-entry')],
    reason: 'Failed',
    message: /ingress\[0\]: has neither ip nor hostname/,
  },
  {
    kind: 'a status that is no status',
    tweaks: [misbehave('no-status')],
    reason: 'Failed',
    message: /provider "hostile" returned an invalid status: null has no ingress list/,
  },
  {
    kind: 'a bad status while provisioning',
    tweaks: [misbehave('provisioning-bad')],
    reason: 'Failed',
    message: /returned an invalid status while provisioning: ingress\[0\]\.ip/,
  },
  {
    kind: 'a validateService that throws',
    tweaks: [misbehave('validate-throws')],
    reason: 'Failed',
    message: /provider "hostile" validateService threw: Cannot read properties of undefined/,
  },
  {
    kind: 'a validateService that returns no list',
    tweaks: [misbehave('validate-string')],
    reason: 'Failed',
    message: /validateService returned "ok", not a list of \{ field, message \}/,
  },
  {
    kind: 'a 200 KB error message',
    tweaks: [misbehave('huge-error')],
    reason: 'Failed',
    message: /Error syncing load balancer: quota: x+\.\.\.\(\d+ more characters\)/,
  },
  {
    kind: 'an error message with a line break',
    tweaks: [misbehave('forged-error')],
    reason: 'Failed',
    message: /Error syncing load balancer: rr\\nINFO {2}ensured load balancer/,
  },
];

/** The fake provider, answering badly as each Service's annotation says, behind the guard. */
function hostileFactory(): ProviderFactory {
  const base = createFakeProvider(createFakeCloud(), { capabilities: { targetsNodePorts: false } });
  return async (options) => {
    const fake = await base(options);
    const how = (svc: Readonly<V1Service>) =>
      svc.metadata?.annotations?.['test.kube-lbc.io/misbehave'];
    const hostile: LoadBalancerProvider = Object.assign(
      Object.create(fake) as LoadBalancerProvider,
      {
        name: 'hostile',
        validateService(svc: Readonly<V1Service>) {
          if (how(svc) === 'validate-throws') return (undefined as unknown as { x: [] }).x;
          if (how(svc) === 'validate-string') return 'ok' as never;
          return fake.validateService(svc);
        },
        async ensureLoadBalancer(...args: Parameters<LoadBalancerProvider['ensureLoadBalancer']>) {
          const statuses: Record<string, unknown> = {
            'bad-ip': { ingress: [{ ip: '999.1.1.1' }] },
            'bad-hostname': { ingress: [{ hostname: 'lb_1.example.com' }] },
            'ip-hostname': { ingress: [{ hostname: '192.0.2.1' }] },
            'empty-entry': { ingress: [{}] },
            'no-status': null,
          };
          const kind = how(args[2]) ?? '';
          if (kind in statuses) return statuses[kind] as never;
          if (kind === 'provisioning-bad')
            throw new RetryAfterError('provisioning', 1000, { ingress: [{ ip: 'x' }] });
          if (kind === 'huge-error') throw new Error(`quota: ${HUGE}`);
          if (kind === 'forged-error') throw new Error(FORGED);
          return fake.ensureLoadBalancer(...args);
        },
      },
    );
    return guardProvider('hostile', hostile);
  };
}

describe('hostile input: Services', function () {
  this.timeout(60_000);
  let c: TestCluster;

  describe('local provider', () => {
    before(async () => {
      c = await startTestCluster({
        provider: createLocalProvider,
        cloudConfig: { addresses: ['127.244.0.0/24'], mode: 'controller' },
        nodes: [newNode('node-1')],
      });
    });
    after(async () => c?.stop());
    localRows.forEach((row, i) =>
      it(`local: ${row.kind} is ${row.reason}, others converge`, () =>
        runServiceRow(c, `local-${i}`, row)),
    );
  });

  describe('aws provider (moto)', () => {
    let endpoint: AwsTestEndpoint;
    before(async () => {
      endpoint = await startAwsEndpoint();
      await endpoint.reset();
      const account = await seedAccount('hostile', 2);
      const nodes: V1Node[] = account.instances.map(({ id, zone }, i) => {
        const node = newNode(`node-${i + 1}`, tweakProviderID(`aws:///${zone}/${id}`));
        delete node.metadata!.uid;
        delete node.metadata!.resourceVersion;
        return node;
      });
      const provider: ProviderFactory = async (options) => {
        const config = parseAwsConfig(options.config);
        return new AwsProvider({
          clients: createAwsClients(config, options.cloudCalls),
          clusterName: options.clusterName,
          config,
          provisioningRecheckMs: 50,
        });
      };
      c = await startTestCluster({ provider, config: { clusterName: 'hostile' }, nodes });
    });
    after(async () => {
      await c?.stop();
      await endpoint?.stop();
    });
    awsRows.forEach((row, i) =>
      it(`aws: ${row.kind} is ${row.reason}, others converge`, () =>
        runServiceRow(c, `aws-${i}`, row)),
    );
  });

  describe('a plugin that answers badly', () => {
    before(async () => {
      c = await startTestCluster({ provider: hostileFactory(), nodes: [newNode('node-1')] });
    });
    after(async () => c?.stop());
    pluginRows.forEach((row, i) =>
      it(`plugin: ${row.kind} is ${row.reason} naming the provider, others converge`, () =>
        runServiceRow(c, `plugin-${i}`, row)),
    );
  });
});
