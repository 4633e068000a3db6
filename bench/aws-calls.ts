/**
 * Cloud calls the AWS provider makes per create, per node change, per no-op resync and per
 * delete, counted at the shared gate against moto. Run: `npx tsx bench/aws-calls.ts`.
 * Counts, not timings: moto answers in a millisecond, AWS in tens, so calls are what carry over.
 */
import type { V1Service } from '@kubernetes/client-node';
import { createAwsProvider } from '../providers/aws/index.js';
import { RetryAfterError } from '../contract/errors.js';
import { CloudCallGate } from '../runtime/cloud-calls.js';
import { noopLogger } from '../contract/logger.js';
import { newNode, newService, tweakPorts, tweakProviderID } from '../test/fixtures/builders.js';
import { seedAccount, startAwsEndpoint } from '../test/support/moto.js';

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
    return {
      total: ops.length,
      writes: ops.filter((op) => !op.startsWith('Describe')).length,
      detail,
    };
  };
}

const endpoint = await startAwsEndpoint();
try {
  const account = await seedAccount(clusterName, 6);
  const provider = await createAwsProvider({
    config: {},
    clusterName,
    logger: noopLogger,
    cloudCalls: calls,
    cluster: { services: () => [], nodes: () => [] },
  });
  // Budgets far above moto's needs, so the figures are counts and not queueing.
  calls.configure({ default: { qps: Infinity, burst: Infinity, concurrency: Infinity } });
  const ctx = { signal: new AbortController().signal, logger: noopLogger, recordEvent: () => {} };
  const nodes = account.instances.map((i, n) =>
    newNode(`node-${n + 1}`, tweakProviderID(`aws:///${i.zone}/${i.id}`)),
  );
  const rows: [string, ReturnType<ReturnType<typeof measure>>][] = [];

  for (const portCount of [1, 3]) {
    const ports = Array.from({ length: portCount }, (_, i) => ({
      name: `p${i}`,
      port: 8000 + i,
      protocol: 'TCP',
      nodePort: 30000 + portCount * 10 + i,
    }));
    const svc: V1Service = newService(`svc-${portCount}`, tweakPorts(...ports));
    const label = `${portCount} port${portCount > 1 ? 's' : ''}, ${nodes.length - 1} nodes`;
    let m = measure();
    await provider
      .ensureLoadBalancer(ctx, clusterName, svc, nodes.slice(0, -1))
      .catch((err: unknown) => {
        if (!(err instanceof RetryAfterError)) throw err;
      });
    rows.push([`create (first ensure, NLB provisioning), ${label}`, m()]);
    m = measure();
    await provider.ensureLoadBalancer(ctx, clusterName, svc, nodes.slice(0, -1));
    rows.push([`second ensure (NLB now active), ${label}`, m()]);
    m = measure();
    await provider.ensureLoadBalancer(ctx, clusterName, svc, nodes.slice(0, -1));
    rows.push([`no-op resync (ensure, nothing changed), ${label}`, m()]);
    m = measure();
    await provider.updateLoadBalancerHosts(ctx, clusterName, svc, nodes);
    rows.push([`node joins (updateLoadBalancerHosts), ${label}`, m()]);
    m = measure();
    await provider.updateLoadBalancerHosts(ctx, clusterName, svc, nodes);
    rows.push([`node sync with no change (updateLoadBalancerHosts), ${label}`, m()]);
    m = measure();
    await provider.ensureLoadBalancerDeleted(ctx, clusterName, svc);
    rows.push([`delete, ${label}`, m()]);
  }
  const listing = measure();
  await provider.listLoadBalancers!(ctx, clusterName);
  rows.push(['GC listing (listLoadBalancers), no NLBs left', listing()]);
  await provider.close?.();

  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(`${'operation'.padEnd(width)}  calls  writes  breakdown`);
  for (const [label, r] of rows) {
    console.log(
      `${label.padEnd(width)}  ${String(r.total).padStart(5)}  ${String(r.writes).padStart(6)}  ${r.detail}`,
    );
  }
} finally {
  await endpoint.stop();
}
