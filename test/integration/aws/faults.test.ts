/**
 * The real controller and the AWS provider against moto behind a fault proxy of our own: an
 * endpoint that hangs and then recovers, and transient 503s and lost answers. What must hold is
 * that calls are freed and retried, not that they are fast: recovery happens without a restart
 * and within the test's timeout (`bench/aws-faults.ts` measures how long it takes).
 */
import assert from 'node:assert/strict';
import { PatchStrategy, setHeaderOptions, type V1Node } from '@kubernetes/client-node';
import { findReadyCondition } from '../../../controllers/service/status.js';
import { createAwsClients, type AwsHttpTimeouts } from '../../../providers/aws/clients.js';
import { parseAwsConfig } from '../../../providers/aws/config.js';
import { AwsProvider } from '../../../providers/aws/provider.js';
import type { ProviderFactory } from '../../../contract/provider.js';
import { CloudCallGate, type CallOutcome } from '../../../runtime/cloud-calls.js';
import { newNode, newPostedService, tweakProviderID } from '../../fixtures/builders.js';
import { startTestCluster, type TestCluster } from '../../support/cluster.js';
import { startFaultProxy, type Fault, type FaultProxy } from '../../support/fault-proxy.js';
import {
  seedAccount,
  startAwsEndpoint,
  type AwsTestEndpoint,
  type SeededAccount,
} from '../../support/moto.js';
import { readInventory } from './inventory.js';

const clusterName = 'kube-lbc-faults';

/** The AWS provider with its endpoint at the proxy; moto activates an NLB at once. */
const providerVia =
  (proxy: FaultProxy, timeouts: AwsHttpTimeouts): ProviderFactory =>
  async (options) => {
    const config = parseAwsConfig({ endpoint: proxy.url });
    return new AwsProvider({
      clients: createAwsClients(config, options.cloudCalls, timeouts),
      clusterName: options.clusterName,
      config,
      provisioningRecheckMs: 50,
    });
  };

function nodesOf(account: SeededAccount): V1Node[] {
  return account.instances.slice(0, 2).map(({ id, zone }, i) => {
    const node = newNode(`node-${i + 1}`, tweakProviderID(`aws:///${zone}/${id}`));
    delete node.metadata!.uid;
    delete node.metadata!.resourceVersion;
    return node;
  });
}

const isReady = (c: TestCluster, name: string) =>
  findReadyCondition(c.cached('default', name) ?? {})?.reason === 'Ready';

describe('kube-lbc with the aws provider behind a faulty endpoint', function () {
  this.timeout(90_000);
  let endpoint: AwsTestEndpoint;
  let account: SeededAccount;
  let proxy: FaultProxy;
  let c: TestCluster | undefined;
  let outcomes: { operation: string; outcome: CallOutcome }[];
  let cloudCalls: CloudCallGate;

  before(async () => {
    endpoint = await startAwsEndpoint();
  });
  after(async () => endpoint?.stop());
  beforeEach(async () => {
    await endpoint.reset();
    account = await seedAccount(clusterName, 2);
    proxy = await startFaultProxy({ target: endpoint.url });
    outcomes = [];
    cloudCalls = new CloudCallGate({
      observer: ({ operation, outcome }) => outcomes.push({ operation, outcome }),
    });
  });
  afterEach(async () => {
    await c?.stop();
    c = undefined;
    await proxy.close();
  });

  it('frees and retries the calls of an endpoint that accepts and never answers, and every Service is Ready once it recovers, without a restart', async () => {
    proxy.mode = 'hang';
    c = await startTestCluster({
      provider: providerVia(proxy, { connectTimeoutMs: 500, requestTimeoutMs: 500 }),
      cloudCalls,
      config: { clusterName, concurrentServiceSyncs: 11 },
      nodes: nodesOf(account),
    });
    const cluster = c;
    const names = Array.from({ length: 11 }, (_, i) => `web-${i}`);
    for (const name of names) {
      await cluster.core.createNamespacedService({
        namespace: 'default',
        body: newPostedService(name),
      });
    }
    // More requests hung than the describe budget has slots: without timeouts, that is the end.
    await cluster.until(
      () => proxy.counts.held > 8 && outcomes.filter((o) => o.outcome === 'timeout').length > 8,
      'timed-out calls beyond the describe slots',
      30_000,
    );
    const controller = cluster.controller;
    proxy.mode = 'forward';
    await cluster.until(
      () => names.every((n) => isReady(cluster, n)),
      'every Service to be Ready after recovery',
      30_000,
    );
    assert.equal(cluster.controller, controller, 'the same controller, never restarted');
    const inventory = await readInventory();
    assert.equal(inventory.loadBalancers.length, names.length, 'one NLB per Service, no duplicate');
  });

  it('retries transient 503s and lost answers inside the gate: no sync fails, and a lost create answer makes no duplicate', async () => {
    const seen = new Set<string>();
    // The first request of each action is refused; the first CreateLoadBalancer, CreateTargetGroup
    // and security group rule writes are made, and their answers lost.
    const lost = new Set([
      'CreateLoadBalancer',
      'CreateTargetGroup',
      'AuthorizeSecurityGroupIngress',
      'RevokeSecurityGroupIngress',
    ]);
    proxy.fault = (action): Fault => {
      if (seen.has(action)) return undefined;
      seen.add(action);
      return lost.has(action) ? 'lose' : 'unavailable';
    };
    c = await startTestCluster({
      provider: providerVia(proxy, {}),
      cloudCalls,
      config: { clusterName },
      nodes: nodesOf(account),
    });
    const cluster = c;
    await cluster.core.createNamespacedService({
      namespace: 'default',
      body: newPostedService('web'),
    });
    await cluster.until(() => isReady(cluster, 'web'), 'web to be Ready');
    await cluster.idle();
    // Narrowing the source ranges revokes the rule for everyone: the first Revoke.
    const before = cluster.syncs.length;
    await cluster.core.patchNamespacedService(
      {
        namespace: 'default',
        name: 'web',
        body: { spec: { loadBalancerSourceRanges: ['10.0.0.0/8'] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await cluster.syncsAfter(before, 1);
    await cluster.idle();
    assert.ok(
      proxy.counts.unavailable >= 3 && proxy.counts.lost === lost.size,
      JSON.stringify(proxy.counts),
    );
    assert.ok(seen.has('RevokeSecurityGroupIngress'), 'a Revoke was sent');
    assert.deepEqual(
      cluster.syncs.filter((s) => s.result === 'error'),
      [],
      'no sync saw a transient failure or a lost answer',
    );
    const inventory = await readInventory();
    assert.equal(inventory.loadBalancers.length, 1, 'one NLB');
    assert.equal(inventory.targetGroups.length, 1, 'one target group');
    const clientRules = inventory.securityGroups
      .flatMap((g) => g.ingress)
      .filter((r) => / from [0-9.]+\/\d+$/.test(r));
    assert.deepEqual(clientRules, ['tcp/80 from 10.0.0.0/8'], 'only the narrowed client rule');
  });
});
