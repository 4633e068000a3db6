/** The AWS provider passes the shared provider conformance kit, against moto. */
import { awsCallBudgets, createAwsClients } from '../../../providers/aws/clients.js';
import { parseAwsConfig } from '../../../providers/aws/config.js';
import { AwsProvider } from '../../../providers/aws/provider.js';
import { describeProviderConformance } from '../../../providers/conformance/index.js';
import {
  seedAccount,
  startAwsEndpoint,
  type AwsTestEndpoint,
  type SeededAccount,
} from '../../support/moto.js';
import { readInventory } from './inventory.js';

const widened = Object.fromEntries(
  Object.entries(awsCallBudgets).map(([name, b]) => [
    name,
    { qps: b.qps * 100, burst: b.burst * 100, concurrency: b.concurrency },
  ]),
) as unknown as typeof awsCallBudgets;

describe('aws provider conformance against moto', function () {
  this.timeout(60_000);
  let endpoint: AwsTestEndpoint | undefined;
  let account: SeededAccount | undefined;
  before(async () => {
    endpoint = await startAwsEndpoint();
  });
  after(async () => {
    await endpoint?.stop();
  });

  describeProviderConformance({
    name: 'aws',
    // Built like createAwsProvider, but rechecking a provisioning NLB after 10 ms instead of 15 s:
    // moto turns an NLB active on the next describe.
    // Its budgets a hundred times wider too: the crash cases make hundreds of writes, and waiting
    // out AWS-sized token buckets against moto proves nothing.
    createProvider: async (options) =>
      Object.assign(
        new AwsProvider({
          clients: createAwsClients(parseAwsConfig(options.config), options.cloudCalls),
          clusterName: options.clusterName,
          config: parseAwsConfig(options.config),
          provisioningRecheckMs: 10,
        }),
        { callBudgets: widened },
      ),
    reset: async () => {
      await endpoint!.reset();
      account = await seedAccount('conformance', 3);
    },
    tweakNode: (node, index) => {
      const instance = account!.instances[index]!;
      node.spec = { ...node.spec, providerID: `aws:///${instance.zone}/${instance.id}` };
    },
    nodeCount: 3,
    maxNameLength: 32,
    // EC2's Authorize/Revoke are writes too; every ELBv2 and EC2 read starts with Describe.
    isWrite: (operation) => !operation.startsWith('Describe'),
    // Stable attributes only: subnet and security group IDs are allocated anew on each create.
    inventory: async () => {
      const inv = await readInventory();
      return [
        ...inv.loadBalancers.map(({ name, scheme, listeners, tags, crossZone }) => ({
          kind: 'nlb',
          name,
          scheme,
          listeners,
          tags,
          crossZone,
        })),
        ...inv.targetGroups.map((tg) => ({ kind: 'target-group', ...tg })),
        ...inv.securityGroups.map((g) => ({ kind: 'security-group', ...g })),
      ];
    },
    // A create is some 20 calls, each one a crash point with its own recovery run.
    timeoutMs: 120_000,
  });
});
