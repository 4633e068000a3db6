/**
 * Shared set-up for the AWS provider's integration tests: one moto (or LocalStack) per file, a
 * reset account per test, a provider wired to a recording gate, and the leak check that compares
 * the whole account with the Services the test left alive.
 *
 * Where moto differs from AWS (each one matters to what these tests can prove):
 * - NLB ARNs come back as `loadbalancer/app/...` even for Type network (AWS: `loadbalancer/net/`).
 *   Nothing here parses ARNs, so this is harmless.
 * - A new NLB is `provisioning` on CreateLoadBalancer and `active` on the very next describe
 *   (AWS: minutes). The first ensure therefore throws RetryAfterError and the second is Ready.
 * - CreateLoadBalancer with a name already in use makes a second NLB of that name (AWS answers
 *   DuplicateLoadBalancerName, or returns the same NLB when every setting matches). The provider
 *   describes by name before creating, so the crash-recovery tests would see a duplicate here.
 * - RegisterTargets accepts instance IDs moto never made and reports every target `healthy`;
 *   health checks are never really run, so only their settings are checked.
 * - Two `tag-key` filters in one DescribeSubnets keep only the last (AWS ANDs them): the provider
 *   sends one and filters the cluster tag itself.
 * - A target group's LoadBalancerArns (and so DescribeTargetGroups by LoadBalancerArn) gains the
 *   NLB on CreateListener only: ModifyListener never adds it, and DeleteListener, ModifyListener
 *   and DeleteLoadBalancer never remove it. The provider and the inventory both read attachment
 *   from the listeners instead, as AWS defines it.
 * - Deleting a security group still attached to an NLB succeeds (AWS: DependencyViolation until
 *   the NLB's network interfaces go), so the RetryAfter path for it is covered by unit tests only.
 * - Deregistered targets vanish at once (AWS: `draining` for the deregistration delay).
 * - A dualstack NLB is accepted in subnets without an IPv6 CIDR (AWS refuses it), so the
 *   dualstack test proves the settings, not that the subnets would do.
 * - Subnet mappings: CreateLoadBalancer keeps only the subnet of each (no LoadBalancerAddresses
 *   come back), and takes allocation IDs that do not exist and private addresses outside the
 *   subnet (AWS refuses both). kube-lbc checks those itself before any write, the tests read
 *   what it sent from the command input, and the mappings an NLB has are known from its tag.
 * - SetSecurityGroups on an NLB created without security groups succeeds (AWS refuses it), so
 *   the adoption tests check that kube-lbc never sends it to such an NLB.
 * - ModifyTargetGroupAttributes takes any key, and preserve_client_ip.enabled=false on a UDP
 *   group (AWS refuses both); DescribeTargetGroupAttributes lists fewer keys than AWS.
 */
import assert from 'node:assert/strict';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import {
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
  SetSecurityGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { createAwsProvider } from '../../../providers/aws/index.js';
import {
  desiredLoadBalancer,
  desiredTargets,
  targetNodes,
} from '../../../providers/aws/desired.js';
import { backendGroupName, securityGroupName } from '../../../providers/aws/names.js';
import {
  backendNodeRules,
  frontendNodeRules,
  nodeAccessRules,
} from '../../../providers/aws/node-access.js';
import { RetryAfterError } from '../../../contract/errors.js';
import type {
  CallContext,
  LoadBalancerProvider,
  LoadBalancerStatus,
} from '../../../contract/provider.js';
import type { CallOptions } from '../../../contract/cloud-calls.js';
import { CloudCallGate } from '../../../runtime/cloud-calls.js';
import { noopLogger } from '../../../contract/logger.js';
import { newNode, tweakProviderID } from '../../fixtures/builders.js';
import {
  nodeSecurityGroupName,
  seedAccount,
  startAwsEndpoint,
  type AwsTestEndpoint,
  type SeededAccount,
} from '../../support/moto.js';
import { readInventory } from './inventory.js';

export const clusterName = 'kube-lbc-test';

/** A gate that records every call and can simulate a crash right after a named call succeeded. */
export class RecordingCalls extends CloudCallGate {
  readonly operations: string[] = [];
  /** Throw after the n-th successful call of this operation, as if the process died then. */
  crashAfter?: { operation: string; nth: number };
  /** Throw after the n-th successful write of any kind. */
  crashAfterWrite?: number;
  /** Told after each call that reached AWS, before the provider hears back (which waits for it). */
  afterCall?: (operation: string) => void | Promise<void>;
  #seen = new Map<string, number>();

  /** Refuse this operation before it reaches AWS, as a quota or permission error would. */
  refuse?: string;

  override async call<T>(
    budget: string,
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    options?: CallOptions<T>,
  ): Promise<T> {
    if (this.refuse === operation) throw new Error(`${operation} refused (simulated)`);
    const result = await super.call(budget, operation, fn, options);
    this.operations.push(operation);
    await this.afterCall?.(operation);
    const n = (this.#seen.get(operation) ?? 0) + 1;
    this.#seen.set(operation, n);
    if (this.crashAfter?.operation === operation && this.crashAfter.nth === n) {
      this.crashAfter = undefined;
      throw new Error(`simulated crash after ${operation}`);
    }
    if (this.crashAfterWrite !== undefined && this.writes().length === this.crashAfterWrite) {
      this.crashAfterWrite = undefined;
      throw new Error(`simulated crash after write ${this.writes().length} (${operation})`);
    }
    return result;
  }

  /** Calls that change something in AWS. */
  writes(): string[] {
    return this.operations.filter((op) => !/^Describe/.test(op));
  }

  clear(): void {
    this.operations.length = 0;
  }
}

export interface Harness {
  endpoint: AwsTestEndpoint;
  account: SeededAccount;
  provider: LoadBalancerProvider;
  calls: RecordingCalls;
  events: { type: string; reason: string; message: string }[];
  ctx: CallContext;
  /** Services that should exist in AWS when the test ends, with their nodes. */
  live: Map<string, { service: V1Service; nodes: V1Node[] }>;
  nodes(count?: number): V1Node[];
  /** Ensures until Ready (moto turns an NLB active on the next describe). */
  ensureReady(service: V1Service, nodes: V1Node[]): Promise<LoadBalancerStatus>;
  /** Security groups the test made as a user would (ID to name): kube-lbc must leave them be. */
  userGroups: Map<string, string>;
  /** Makes a user's security group (in the seeded VPC unless told) and returns its ID. */
  makeUserGroup(name: string, vpcId?: string): Promise<string>;
}

export function useAwsHarness(): Harness {
  const h = { live: new Map(), events: [] } as unknown as Harness;
  before(async function () {
    this.timeout(60_000);
    h.endpoint = await startAwsEndpoint();
  });
  after(async () => {
    await h.endpoint?.stop();
  });
  beforeEach(async () => {
    await h.endpoint.reset();
    h.account = await seedAccount(clusterName);
    h.calls = new RecordingCalls();
    h.provider = await newProvider(h.calls);
    h.events = [];
    h.live = new Map();
    h.userGroups = new Map();
    h.makeUserGroup = async (name, vpcId = h.account.vpcId) => {
      const ec2 = new EC2Client({});
      try {
        const out = await ec2.send(
          new CreateSecurityGroupCommand({ GroupName: name, VpcId: vpcId, Description: name }),
        );
        h.userGroups.set(out.GroupId!, name);
        return out.GroupId!;
      } finally {
        ec2.destroy();
      }
    };
    h.ctx = {
      signal: new AbortController().signal,
      logger: noopLogger,
      recordEvent: (type, reason, message) => h.events.push({ type, reason, message }),
    };
    h.nodes = (count = h.account.instances.length) =>
      h.account.instances
        .slice(0, count)
        .map((i, n) => newNode(`node-${n + 1}`, tweakProviderID(`aws:///${i.zone}/${i.id}`)));
    h.ensureReady = async (service, nodes) => {
      for (let attempt = 1; ; attempt++) {
        try {
          const status = await h.provider.ensureLoadBalancer(h.ctx, clusterName, service, nodes);
          h.live.set(service.metadata!.uid!, { service, nodes });
          return status;
        } catch (err) {
          if (!(err instanceof RetryAfterError) || attempt >= 3) throw err;
        }
      }
    };
  });
  afterEach(async function () {
    await h.provider?.close?.();
    if (this.currentTest?.state === 'passed') await assertInventoryMatches(h.live, h.userGroups);
  });
  return h;
}

export async function newProvider(
  calls: CloudCallGate,
  cluster = clusterName,
  config: Record<string, unknown> = {},
): Promise<LoadBalancerProvider> {
  const provider = await createAwsProvider({
    config,
    clusterName: cluster,
    logger: noopLogger,
    cloudCalls: calls,
    cluster: { services: () => [], nodes: () => [] },
  });
  // The declared budgets, a hundred times wider: same queues, without real-time waits in tests.
  calls.configure(
    Object.fromEntries(
      Object.entries(provider.callBudgets).map(([name, b]) => [
        name,
        { qps: b.qps * 100, burst: b.burst * 100, concurrency: b.concurrency },
      ]),
    ) as typeof provider.callBudgets,
  );
  return provider;
}

/** The whole account holds exactly what `live` asks for: nothing missing, nothing leaked. */
export async function assertInventoryMatches(
  live: ReadonlyMap<string, { service: V1Service; nodes: V1Node[] }>,
  /** The user's groups (ID to name), which stay whatever happens to the Services. */
  userGroups: ReadonlyMap<string, string> = new Map(),
): Promise<void> {
  const inventory = await readInventory();
  const wanted = [...live.values()].map(({ service, nodes }) => {
    const desired = desiredLoadBalancer(clusterName, service);
    const user = desired.settings.userSecurityGroups;
    const named = (g: string) => userGroups.get(g) ?? g;
    return {
      desired,
      targets: desiredTargets(targetNodes(service, nodes)).instanceIds,
      /** kube-lbc's own frontend group, unless security-groups replaces it. */
      own: user?.replace.length ? [] : [securityGroupName(clusterName, service)],
      user: [...new Set([...(user?.replace ?? []), ...(user?.extra ?? [])].map(named))],
      sg: securityGroupName(clusterName, service),
    };
  });
  assert.deepEqual(
    inventory.loadBalancers.map((lb) => lb.name),
    wanted.map((w) => w.desired.name).sort(),
    'load balancers in the account',
  );
  for (const lb of inventory.loadBalancers) {
    const w = wanted.find((x) => x.desired.name === lb.name)!;
    assert.deepEqual(
      lb.listeners,
      w.desired.listeners
        .map((l) => `${l.port}/${l.tls ? 'TLS' : l.protocol} -> ${l.targetGroupName}`)
        .sort(),
      `listeners of ${lb.name}`,
    );
    assert.equal(lb.scheme, w.desired.settings.scheme);
  }
  assert.deepEqual(
    inventory.targetGroups.map((tg) => tg.name),
    wanted.flatMap((w) => w.desired.targetGroups.map((tg) => tg.name)).sort(),
    'target groups in the account',
  );
  for (const tg of inventory.targetGroups) {
    const w = wanted.find((x) => x.desired.targetGroups.some((t) => t.name === tg.name))!;
    const port = w.desired.targetGroups.find((t) => t.name === tg.name)!.port;
    assert.deepEqual(
      tg.targets,
      w.targets.map((id) => `${id}:${port}`).sort(),
      `targets of ${tg.name}`,
    );
    assert.equal(tg.attached, true, `${tg.name} is attached`);
  }
  // The cluster's backend group lives exactly as long as some NLB does.
  const backend = wanted.length > 0 ? [backendGroupName(clusterName)] : [];
  assert.deepEqual(
    inventory.securityGroups.map((g) => g.name),
    [
      ...wanted.flatMap((w) => w.own),
      ...userGroups.values(),
      ...backend,
      nodeSecurityGroupName,
    ].sort(),
    'security groups in the account',
  );
  for (const lb of inventory.loadBalancers) {
    const w = wanted.find((x) => x.desired.name === lb.name)!;
    assert.deepEqual(
      lb.securityGroups,
      [...w.own, ...w.user, ...backend].sort(),
      `security groups of ${lb.name}`,
    );
  }
  // The node group admits the backend group on a fixed set of ports, each live NLB's own group
  // only where that does not reach, and no group of a deleted NLB.
  const nodeGroup = inventory.securityGroups.find((g) => g.name === nodeSecurityGroupName)!;
  const rule = (r: string, from: string) => `${r.replace('|', '/')} from ${from}`;
  assert.deepEqual(
    nodeGroup.ingress,
    [
      ...backend.flatMap((name) => [...backendNodeRules].map((r) => rule(r, name))),
      ...wanted.flatMap((w) => [...frontendNodeRules(w.desired)].map((r) => rule(r, w.sg))),
    ].sort(),
    'node security group rules',
  );
}

/**
 * Puts a Service's NLB back as a kube-lbc without the backend group left it: the NLB holds only
 * its frontend group, the node group admits that group on each of the Service's ports, and the
 * backend group is gone. The starting point of the migration tests.
 */
export async function downgradeToPerServiceRules(service: V1Service): Promise<void> {
  const elb = new ElasticLoadBalancingV2Client({});
  const ec2 = new EC2Client({});
  try {
    const byName = async (name: string) =>
      (
        await ec2.send(
          new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }] }),
        )
      ).SecurityGroups![0]!;
    const desired = desiredLoadBalancer(clusterName, service);
    const lb = (await elb.send(new DescribeLoadBalancersCommand({ Names: [desired.name] })))
      .LoadBalancers![0]!;
    const frontendGroup = await byName(securityGroupName(clusterName, service));
    const backendGroup = await byName(backendGroupName(clusterName));
    const nodeGroup = await byName(nodeSecurityGroupName);
    await elb.send(
      new SetSecurityGroupsCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        SecurityGroups: [frontendGroup.GroupId!],
      }),
    );
    const fromBackend = (nodeGroup.IpPermissions ?? []).filter((p) =>
      p.UserIdGroupPairs?.some((g) => g.GroupId === backendGroup.GroupId),
    );
    await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: nodeGroup.GroupId,
        IpPermissions: fromBackend,
      }),
    );
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: backendGroup.GroupId }));
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: nodeGroup.GroupId,
        IpPermissions: [...nodeAccessRules(desired)].map((rule) => {
          const [protocol, port] = rule.split('|') as [string, string];
          return {
            IpProtocol: protocol,
            FromPort: Number(port),
            ToPort: Number(port),
            // As kube-lbc wrote them (moto matches a revoke on the description too).
            UserIdGroupPairs: [
              { GroupId: frontendGroup.GroupId, Description: 'kube-lbc: NLB to NodePort' },
            ],
          };
        }),
      }),
    );
  } finally {
    elb.destroy();
    ec2.destroy();
  }
}
