/**
 * The controller and the AWS provider against moto behind the project's fault proxy, as an
 * operator would meet a flaky endpoint. Run: `npx tsx bench/aws-faults.ts [--services 45]`.
 *
 * 1. Transient faults: N one-port Services created at once, time until all are Ready, without
 *    faults, with 5% 503s and 3% lost answers, and the same faults with the gate's transient
 *    retries off (the behaviour before them). Production timings: per-Service backoff 5 s to
 *    5 min, the provider's 15 s provisioning recheck, the SDK's default timeouts.
 * 2. A hung endpoint: 11 Services created while it accepts and never answers for 20 s, then it
 *    recovers; time from recovery until all are Ready.
 * Figures, not assertions: they move with the machine.
 */
import type { V1Node } from '@kubernetes/client-node';
import { findReadyCondition } from '../controllers/service/status.js';
import { createAwsClients } from '../providers/aws/clients.js';
import { parseAwsConfig } from '../providers/aws/config.js';
import { AwsProvider } from '../providers/aws/provider.js';
import type { ProviderFactory } from '../contract/provider.js';
import { CloudCallGate, type CloudCallsOptions } from '../runtime/cloud-calls.js';
import { newNode, newPostedService, tweakProviderID } from '../test/fixtures/builders.js';
import { readInventory } from '../test/integration/aws/inventory.js';
import { startTestCluster, type TestCluster } from '../test/support/cluster.js';
import { startFaultProxy, type FaultProxy } from '../test/support/fault-proxy.js';
import { seedAccount, startAwsEndpoint } from '../test/support/moto.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const serviceCount = flag('services', 45);
const limitMs = flag('limit-s', 240) * 1000;
const clusterName = 'bench-faults';
const production = { baseMs: 5000, maxMs: 300_000, jitter: 0.1 };

const endpoint = await startAwsEndpoint();

const providerVia =
  (proxy: FaultProxy): ProviderFactory =>
  async (options) => {
    const config = parseAwsConfig({ endpoint: proxy.url });
    return new AwsProvider({
      clients: createAwsClients(config, options.cloudCalls),
      clusterName: options.clusterName,
      config,
    });
  };

interface Run {
  readonly ready: number;
  readonly seconds: number;
  readonly calls: number;
  readonly retries: number;
  readonly failedSyncs: number;
  readonly duplicates: number;
}

/** A fresh account, N Services at once, until all are Ready or the limit passes. */
async function run(
  setUp: (proxy: FaultProxy) => void,
  gate: CloudCallsOptions,
  count: number,
  during?: (c: TestCluster, proxy: FaultProxy) => Promise<number>,
): Promise<Run> {
  await endpoint.reset();
  const account = await seedAccount(clusterName, 3);
  const proxy = await startFaultProxy({ target: endpoint.url });
  setUp(proxy);
  let calls = 0;
  let retries = 0;
  const cloudCalls = new CloudCallGate({
    ...gate,
    observer: ({ attempt = 1 }) => {
      calls++;
      if (attempt > 1) retries++;
    },
  });
  const nodes: V1Node[] = account.instances.map(({ id, zone }, i) => {
    const node = newNode(`node-${i + 1}`, tweakProviderID(`aws:///${zone}/${id}`));
    delete node.metadata!.uid;
    delete node.metadata!.resourceVersion;
    return node;
  });
  const c = await startTestCluster({
    provider: providerVia(proxy),
    cloudCalls,
    config: { clusterName, concurrentServiceSyncs: 50 },
    nodes,
    backoff: production,
  });
  try {
    const names = Array.from({ length: count }, (_, i) => `svc-${i}`);
    let started = performance.now();
    await Promise.all(
      names.map((name) =>
        c.core.createNamespacedService({ namespace: 'default', body: newPostedService(name) }),
      ),
    );
    if (during) started = await during(c, proxy);
    const ready = () =>
      names.filter((n) => findReadyCondition(c.cached('default', n) ?? {})?.reason === 'Ready')
        .length;
    await c.until(() => ready() === count, 'all Ready', limitMs).catch(() => undefined);
    const seconds = (performance.now() - started) / 1000;
    const inventory = await readInventory();
    return {
      ready: ready(),
      seconds,
      calls,
      retries,
      failedSyncs: c.syncs.filter((s) => s.result === 'error').length,
      duplicates:
        inventory.loadBalancers.length - new Set(inventory.loadBalancers.map((lb) => lb.name)).size,
    };
  } finally {
    await c.stop();
    await proxy.close();
  }
}

const row = (label: string, r: Run, base?: Run) =>
  console.log(
    `${label.padEnd(44)} ${`${r.ready}/${serviceCount}`.padStart(6)} ${r.seconds.toFixed(1).padStart(7)} s` +
      `${base ? ` ${(r.seconds / base.seconds).toFixed(2).padStart(5)}x` : '       '}` +
      ` ${String(r.calls).padStart(6)} ${String(r.retries).padStart(7)} ${String(r.failedSyncs).padStart(7)} ${String(r.duplicates).padStart(4)}`,
  );

try {
  console.log(`${serviceCount} one-port Services created at once, moto behind the fault proxy`);
  console.log(`${'run'.padEnd(44)}  ready    time  ratio  calls retries  failed  dup`);
  const clean = await run(() => {}, {}, serviceCount);
  row('no faults', clean);
  const faults = (p: FaultProxy) => {
    p.unavailableRate = 0.05;
    p.lostAnswerRate = 0.03;
  };
  row('5% 503, 3% lost answers', await run(faults, {}, serviceCount), clean);
  row(
    'same faults, gate retries off (before)',
    await run(faults, { transientAttempts: 1 }, serviceCount),
    clean,
  );

  const hang = await run(
    (p) => (p.mode = 'hang'),
    {},
    11,
    async (_c, proxy) => {
      await new Promise((resolve) => setTimeout(resolve, 20_000)); // the outage itself
      proxy.mode = 'forward';
      return performance.now();
    },
  );
  console.log(
    `\nhung endpoint for 20 s, 11 Services: ${hang.ready}/11 Ready ${hang.seconds.toFixed(1)} s after it recovered, no restart (${hang.calls} calls, ${hang.retries} retries, ${hang.failedSyncs} failed syncs)`,
  );
} finally {
  await endpoint.stop();
}
