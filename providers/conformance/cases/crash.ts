/**
 * A crash at every point of a create. The kit counts the calls a clean create makes (n), then for
 * each k in 1..n lets the k-th call reach the cloud and kills the provider before it hears back.
 * A restarted provider must then finish the job without a duplicate, or delete it all.
 */
import assert from 'node:assert/strict';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import type { Harness } from '../harness.js';

interface CrashPlan {
  readonly service: Readonly<V1Service>;
  readonly nodes: readonly Readonly<V1Node>[];
  /** The inventory before anything was made. */
  readonly empty: string[];
  /** The inventory after a clean create. */
  readonly clean: string[];
  /** Calls a clean create makes, by operation. */
  readonly operations: string[];
}

/** Creates once cleanly to learn the calls and the result, then deletes it again. */
async function plan(h: Harness): Promise<CrashPlan> {
  const empty = await h.inventory();
  const service = h.service();
  const nodes = h.nodes(2);
  const { provider } = await h.start();
  const mark = h.log.mark();
  await h.ensure(provider, service, nodes);
  const operations = h.log.since(mark).map((c) => c.operation);
  const clean = await h.inventory();
  await provider.ensureLoadBalancerDeleted(h.ctx(), h.clusterName, service);
  assert.deepEqual(await h.inventory(), empty, 'a clean create and delete left something behind');
  return { service, nodes, empty, clean, operations };
}

/** Starts a provider that dies right after its k-th call, and runs a create on it. */
async function crashCreate(h: Harness, p: CrashPlan, k: number): Promise<void> {
  const { provider, gate } = await h.start();
  gate.crashAfter(k);
  // It normally fails; a provider may swallow an error from a best-effort call and succeed.
  await h.ensure(provider, p.service, p.nodes).catch(() => {});
}

const where = (p: CrashPlan, k: number) =>
  `after a crash at call ${k} of ${p.operations.length} (${p.operations[k - 1]})`;

export function describeCrashes(harness: () => Harness): void {
  it('finishes a create interrupted at any call, without duplicates', async () => {
    const h = harness();
    const p = await plan(h);
    for (let k = 1; k <= p.operations.length; k++) {
      await crashCreate(h, p, k);
      const { provider } = await h.start();
      const status = await h.ensure(provider, p.service, p.nodes);
      assert.ok(status.ingress.length > 0, `no ingress ${where(p, k)}`);
      assert.deepEqual(await h.inventory(), p.clean, `inventory differs ${where(p, k)}`);
      await provider.ensureLoadBalancerDeleted(h.ctx(), h.clusterName, p.service);
      assert.deepEqual(await h.inventory(), p.empty, `delete left something ${where(p, k)}`);
    }
  });

  it('deletes a create interrupted at any call, leaving nothing', async () => {
    const h = harness();
    const p = await plan(h);
    for (let k = 1; k <= p.operations.length; k++) {
      await crashCreate(h, p, k);
      const { provider } = await h.start();
      await provider.ensureLoadBalancerDeleted(h.ctx(), h.clusterName, p.service);
      assert.deepEqual(await h.inventory(), p.empty, `delete left something ${where(p, k)}`);
      const got = await provider.getLoadBalancer(h.ctx(), h.clusterName, p.service);
      assert.equal(got, undefined, `getLoadBalancer still finds it ${where(p, k)}`);
    }
  });
}
