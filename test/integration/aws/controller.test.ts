/**
 * End to end: the real ServiceController, the API emulator, the AWS provider and moto. A user
 * creates a Service, the controller publishes the NLB's hostname; nodes join and leave and the
 * targets follow; the Service goes and nothing is left in the account.
 */
import assert from 'node:assert/strict';
import { PatchStrategy, setHeaderOptions, type V1Node } from '@kubernetes/client-node';
import { findReadyCondition } from '../../../controllers/service/status.js';
import { createAwsClients } from '../../../providers/aws/clients.js';
import { parseAwsConfig } from '../../../providers/aws/config.js';
import { AwsProvider } from '../../../providers/aws/provider.js';
import type { ProviderFactory } from '../../../contract/provider.js';
import { newNode, newPostedService, tweakProviderID } from '../../fixtures/builders.js';
import { startApiServer } from '../../../sandbox/apiserver/index.js';
import { startTestCluster, type TestCluster } from '../../support/cluster.js';
import {
  seedAccount,
  startAwsEndpoint,
  type AwsTestEndpoint,
  type SeededAccount,
} from '../../support/moto.js';
import { nodeSecurityGroupName } from '../../support/moto.js';
import { readInventory, type Inventory } from './inventory.js';

const clusterName = 'kube-lbc-e2e';

/** createAwsProvider, but rechecking a provisioning NLB after 50 ms (moto activates at once). */
const provider: ProviderFactory = async (options) => {
  const config = parseAwsConfig(options.config);
  return new AwsProvider({
    clients: createAwsClients(config, options.cloudCalls),
    clusterName: options.clusterName,
    config,
    provisioningRecheckMs: 50,
  });
};

function nodeFor(account: SeededAccount, index: number): V1Node {
  const { id, zone } = account.instances[index]!;
  const node = newNode(`node-${index + 1}`, tweakProviderID(`aws:///${zone}/${id}`));
  delete node.metadata!.uid;
  delete node.metadata!.resourceVersion;
  return node;
}

/** moto is another process: a bounded poll of its inventory, not a sleep to synchronise on. */
async function inventoryUntil(
  check: (inv: Inventory) => boolean,
  what: string,
): Promise<Inventory> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const inv = await readInventory();
    if (check(inv)) return inv;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(inv)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('kube-lbc with the aws provider, end to end against moto', function () {
  this.timeout(60_000);
  let endpoint: AwsTestEndpoint;
  let account: SeededAccount;
  let c: TestCluster | undefined;

  before(async () => {
    endpoint = await startAwsEndpoint();
  });
  after(async () => endpoint?.stop());
  beforeEach(async () => {
    await endpoint.reset();
    account = await seedAccount(clusterName, 3);
    c = await startTestCluster({
      provider,
      config: { clusterName },
      nodes: [nodeFor(account, 0), nodeFor(account, 1)],
    });
  });
  afterEach(async () => c?.stop());

  it('publishes the NLB hostname, follows nodes joining and leaving, and leaves nothing on delete', async () => {
    const cluster = c!;
    await cluster.core.createNamespacedService({
      namespace: 'default',
      body: newPostedService('web'),
    });
    const svc = await cluster.until(() => {
      const s = cluster.cached('default', 'web');
      return s && findReadyCondition(s)?.reason === 'Ready' && s;
    }, 'web to be Ready');
    const hostname = svc.status!.loadBalancer!.ingress![0]!.hostname;
    assert.match(hostname ?? '', /^k8s-[0-9a-f]{28}-.*\.elb\.amazonaws\.com$/);

    const ids = (n: number) =>
      account.instances
        .slice(0, n)
        .map((i) => i.id)
        .sort();
    const targets = (inv: Inventory) =>
      inv.targetGroups[0]?.targets.map((t) => t.split(':')[0]).sort() ?? [];
    let inv = await readInventory();
    assert.equal(inv.loadBalancers.length, 1);
    assert.deepEqual(targets(inv), ids(2));
    assert.equal(
      inv.targetGroups[0]!.port,
      svc.spec!.ports![0]!.nodePort,
      'targets the allocated NodePort',
    );

    await cluster.core.createNode({ body: nodeFor(account, 2) });
    await inventoryUntil(
      (i) => targets(i).join() === ids(3).join(),
      'the third node to be a target',
    );

    await cluster.core.deleteNode({ name: 'node-3' });
    await inventoryUntil((i) => targets(i).join() === ids(2).join(), 'the third node to leave');

    await cluster.core.deleteNamespacedService({ namespace: 'default', name: 'web' });
    await cluster.until(() => !cluster.cached('default', 'web'), 'web to be gone');
    inv = await readInventory();
    assert.deepEqual(
      [inv.loadBalancers, inv.targetGroups, inv.securityGroups],
      [[], [], [{ name: nodeSecurityGroupName, ingress: [], tags: inv.securityGroups[0]?.tags }]],
      'only the node group is left, with no rule for a deleted NLB',
    );
  });

  it('garbage-collects the NLB of a Service deleted while kube-lbc was down', async () => {
    await c!.stop();
    c = undefined;
    const api = await startApiServer();
    try {
      const first = await startTestCluster({
        apiServer: api,
        provider,
        config: { clusterName },
        nodes: [nodeFor(account, 0)],
      });
      await first.core.createNamespacedService({
        namespace: 'default',
        body: newPostedService('orphan'),
      });
      await first.until(
        () => findReadyCondition(first.cached('default', 'orphan') ?? {})?.reason === 'Ready',
        'orphan to be Ready',
      );
      await first.stop();

      // While kube-lbc is down, someone deletes the Service and strips its finalizer by hand.
      const core = first.core;
      await core.deleteNamespacedService({ namespace: 'default', name: 'orphan' });
      const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      await core.patchNamespacedService(
        { namespace: 'default', name: 'orphan', body: { metadata: { finalizers: null } } },
        mergePatch,
      );
      assert.equal((await readInventory()).loadBalancers.length, 1, 'the NLB outlived its Service');

      const second = await startTestCluster({
        apiServer: api,
        provider,
        config: { clusterName, gcPeriodMs: 60_000 },
      });
      try {
        await inventoryUntil(
          (i) => i.loadBalancers.length + i.targetGroups.length + i.securityGroups.length === 1,
          'the GC to delete the orphan',
        );
      } finally {
        await second.stop();
      }
    } finally {
      await api.close();
    }
  });
});
