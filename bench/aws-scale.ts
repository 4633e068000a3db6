/**
 * Many Services on one cluster's AWS account, against moto: each ensured until Ready by a pool of
 * workers (as the controller's --concurrent-service-syncs), then all deleted. Prints the time to
 * all Ready, the rules on the nodes' security group (AWS allows 60), calls per Service, and what
 * is left in the account after the deletes (it must be nothing but the node group, with no rule).
 *
 *   npx tsx bench/aws-scale.ts [--services 300] [--ports 3] [--workers 50] [--wide-budgets]
 *
 * The provider's declared call budgets apply unless --wide-budgets (a hundred times wider, as the
 * tests use): with them the EC2 write budget (3/s) is what bounds the run. A provisioning NLB is
 * ensured again at once (moto makes it active on the next describe; the controller waits 15 s).
 */
import { parseArgs } from 'node:util';
import type { V1Service } from '@kubernetes/client-node';
import { createAwsProvider } from '../providers/aws/index.js';
import { RetryAfterError } from '../contract/errors.js';
import { CloudCallGate } from '../runtime/cloud-calls.js';
import { noopLogger } from '../contract/logger.js';
import { newNode, newService, tweakPorts, tweakProviderID } from '../test/fixtures/builders.js';
import { readInventory } from '../test/integration/aws/inventory.js';
import { nodeSecurityGroupName, seedAccount, startAwsEndpoint } from '../test/support/moto.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '300' },
    ports: { type: 'string', default: '3' },
    workers: { type: 'string', default: '50' },
    'wide-budgets': { type: 'boolean', default: false },
  },
});
const N = Number(values.services);
const P = Number(values.ports);
const clusterName = 'bench';
const operations: string[] = [];
const calls = new CloudCallGate({ observer: ({ operation }) => operations.push(operation) });

async function inParallel<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Number(values.workers) }, worker));
}

const endpoint = await startAwsEndpoint();
try {
  const account = await seedAccount(clusterName, 5);
  const provider = await createAwsProvider({
    config: {},
    clusterName,
    logger: noopLogger,
    cloudCalls: calls,
    cluster: { services: () => [], nodes: () => [] },
  });
  if (values['wide-budgets']) {
    calls.configure(
      Object.fromEntries(
        Object.entries(provider.callBudgets).map(([name, b]) => [
          name,
          { qps: b.qps * 100, burst: b.burst * 100, concurrency: b.concurrency },
        ]),
      ) as typeof provider.callBudgets,
    );
  }
  const ctx = { signal: new AbortController().signal, logger: noopLogger, recordEvent: () => {} };
  const nodes = account.instances.map((i, n) =>
    newNode(`node-${n + 1}`, tweakProviderID(`aws:///${i.zone}/${i.id}`)),
  );
  // NodePorts as the API server hands them out: distinct, within 30000-32767.
  const services: V1Service[] = Array.from({ length: N }, (_, i) =>
    newService(
      `svc-${i}`,
      tweakPorts(
        ...Array.from({ length: P }, (_, p) => ({
          name: `p${p}`,
          port: 8000 + p,
          protocol: 'TCP',
          nodePort: 30000 + i * P + p,
        })),
      ),
    ),
  );

  const t0 = performance.now();
  let ready = 0;
  let failed = 0;
  let errors = 0;
  await inParallel(services, async (svc) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await provider.ensureLoadBalancer(ctx, clusterName, svc, nodes);
        ready++;
        return;
      } catch (err) {
        if (err instanceof RetryAfterError) continue;
        // As the controller does, with its backoff left out: moto answers some calls under this
        // load with an HTML 500.
        errors++;
        if (attempt < 5) continue;
        failed++;
        console.error(`${svc.metadata!.name}: ${(err as Error).message}`);
        return;
      }
    }
  });
  const readyAfter = (performance.now() - t0) / 1000;
  const createCalls = operations.length;
  const createWrites = operations.filter((op) => !op.startsWith('Describe')).length;
  const afterCreate = await readInventory();
  const nodeRules = afterCreate.securityGroups.find((g) => g.name === nodeSecurityGroupName)!;

  const t1 = performance.now();
  await inParallel(services, async (svc) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await provider.ensureLoadBalancerDeleted(ctx, clusterName, svc);
        return;
      } catch (err) {
        if (!(err instanceof RetryAfterError)) errors++;
        if (!(err instanceof RetryAfterError) && attempt >= 5) throw err;
      }
    }
  });
  const deletedAfter = (performance.now() - t1) / 1000;
  const deleteCalls = operations.length - createCalls;
  const left = await readInventory();
  await provider.close?.();

  const budgets = values['wide-budgets'] ? 'budgets x100' : 'declared budgets';
  console.log(
    `${N} Services x ${P} ports, ${nodes.length} nodes, ${values.workers} workers, ${budgets}`,
  );
  console.log(`  Ready: ${ready} (failed ${failed}), all Ready after ${readyAfter.toFixed(1)} s`);
  console.log(`  errors retried (moto's 500s under load): ${errors}`);
  console.log(
    `  node security group rules: ${nodeRules.ingress.length} (${nodeRules.ingress.join(', ')})`,
  );
  console.log(
    `  create calls per Service: ${(createCalls / N).toFixed(1)} (${(createWrites / N).toFixed(1)} writes)`,
  );
  console.log(
    `  all deleted after ${deletedAfter.toFixed(1)} s, ${(deleteCalls / N).toFixed(1)} calls per Service`,
  );
  console.log(
    `  left: ${left.loadBalancers.length} NLBs, ${left.targetGroups.length} target groups, security groups ${left.securityGroups
      .map((g) => `${g.name} (${g.ingress.length} rules)`)
      .join(', ')}`,
  );
} finally {
  await endpoint.stop();
}
