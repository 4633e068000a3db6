/**
 * Cloud calls the GCP provider makes per create, per no-op resync, per node joining, per second
 * Service, per release (and its take-back) and per delete, counted at the shared gate against
 * the Compute emulator. Run:
 * `npx tsx bench/gcp-calls.ts`. Counts, not timings: the emulator answers in a millisecond,
 * Compute Engine in tens to hundreds, so calls are what carry over. Operation waits are counted
 * as calls (each write is followed by at least one).
 */
import { isWriteOperation } from '../providers/conformance/options.js';
import { createGcpProvider } from '../providers/gcp/index.js';
import { CloudCallGate } from '../runtime/cloud-calls.js';
import { noopLogger } from '../contract/logger.js';
import { ComputeEmulator } from '../sandbox/compute/index.js';
import { newNode, newService, tweakProviderID } from '../test/fixtures/builders.js';

const clusterName = 'bench';
const operations: string[] = [];
const calls = new CloudCallGate({ observer: ({ operation }) => operations.push(operation) });

function measure(): () => { total: number; writes: number; detail: string } {
  const start = operations.length;
  return () => {
    const ops = operations.slice(start);
    const counts = new Map<string, number>();
    for (const op of ops) counts.set(op, (counts.get(op) ?? 0) + 1);
    const detail = [...counts].map(([op, n]) => `${op}${n > 1 ? `x${n}` : ''}`).join(' ');
    return { total: ops.length, writes: ops.filter(isWriteOperation).length, detail };
  };
}

const emu = await ComputeEmulator.start();
try {
  const zone = (i: number) => emu.zones[i % 2]!;
  for (let i = 1; i <= 6; i++)
    emu.seedInstance({ name: `node-${i}`, zone: zone(i), tags: ['node'] });
  const nodes = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      newNode(
        `node-${i + 1}`,
        tweakProviderID(`gce://${emu.project}/${zone(i + 1)}/node-${i + 1}`),
      ),
    );
  const provider = await createGcpProvider({
    config: { project: emu.project, region: emu.region, apiEndpoint: emu.endpoint },
    clusterName,
    logger: noopLogger,
    cloudCalls: calls,
    cluster: { services: () => [], nodes: () => [] },
  });
  calls.configure(provider.callBudgets);
  const ctx = { signal: new AbortController().signal, logger: noopLogger, recordEvent: () => {} };
  const svc = newService('web');
  const other = newService('api');
  const rows: [string, ReturnType<ReturnType<typeof measure>>][] = [];
  const row = async (name: string, fn: () => Promise<unknown>) => {
    const done = measure();
    await fn();
    rows.push([name, done()]);
  };
  await row('create (5 nodes, 2 zones, 1 port)', () =>
    provider.ensureLoadBalancer(ctx, clusterName, svc, nodes(5)),
  );
  await row('no-op resync (ensure)', () =>
    provider.ensureLoadBalancer(ctx, clusterName, svc, nodes(5)),
  );
  await row('second Service, same nodes', () =>
    provider.ensureLoadBalancer(ctx, clusterName, other, nodes(5)),
  );
  await row('node joins (first Service)', () =>
    provider.updateLoadBalancerHosts(ctx, clusterName, svc, nodes(6)),
  );
  await row('node joins (second Service)', () =>
    provider.updateLoadBalancerHosts(ctx, clusterName, other, nodes(6)),
  );
  await row('release', () => provider.releaseLoadBalancer!(ctx, clusterName, svc));
  await row('release again', () => provider.releaseLoadBalancer!(ctx, clusterName, svc));
  await row('take back (ensure after release)', () =>
    provider.ensureLoadBalancer(ctx, clusterName, svc, nodes(6)),
  );
  await row('delete (another Service left)', () =>
    provider.ensureLoadBalancerDeleted(ctx, clusterName, other),
  );
  await row('delete (the last Service)', () =>
    provider.ensureLoadBalancerDeleted(ctx, clusterName, svc),
  );
  await row('garbage-collector listing', () => provider.listLoadBalancers!(ctx, clusterName));
  const width = Math.max(...rows.map(([n]) => n.length));
  console.log(`${'operation'.padEnd(width)}  calls  writes  breakdown`);
  for (const [name, m] of rows) {
    console.log(
      `${name.padEnd(width)}  ${String(m.total).padStart(5)}  ${String(m.writes).padStart(6)}  ${m.detail}`,
    );
  }
  await provider.close?.();
} finally {
  await emu.close();
}
