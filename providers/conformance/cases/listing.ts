/** `listLoadBalancers`, when the provider has it: what the garbage collector relies on. */
import assert from 'node:assert/strict';
import type { Harness } from '../harness.js';

export function describeListing(harness: () => Harness): void {
  it('lists what ensure made, with its UID, for its own cluster only', async function () {
    const h = harness();
    const { provider } = await h.start();
    if (!provider.listLoadBalancers) return this.skip();
    const svc = h.service();
    await h.ensure(provider, svc, h.nodes(1));
    const owned = {
      serviceUID: svc.metadata!.uid,
      namespace: svc.metadata!.namespace,
      name: svc.metadata!.name,
    };
    const listed = await provider.listLoadBalancers(h.ctx(), h.clusterName);
    assert.ok(
      listed.some((lb) => lb.serviceUID === owned.serviceUID),
      `${JSON.stringify(owned)} is not among ${JSON.stringify(listed)}`,
    );
    assert.deepEqual(
      listed.find((lb) => lb.serviceUID === owned.serviceUID),
      owned,
    );
    const other = await provider.listLoadBalancers(h.ctx(), `${h.clusterName}-other`);
    assert.ok(
      !other.some((lb) => lb.serviceUID === owned.serviceUID),
      'another cluster lists this cluster’s load balancer: its garbage collector would delete it',
    );
    await provider.ensureLoadBalancerDeleted(h.ctx(), h.clusterName, svc);
    const after = await provider.listLoadBalancers(h.ctx(), h.clusterName);
    assert.ok(!after.some((lb) => lb.serviceUID === owned.serviceUID), 'still listed after delete');
  });
}
