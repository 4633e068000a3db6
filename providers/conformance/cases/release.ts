/**
 * `releaseLoadBalancer`, when the provider has it: the load balancer is handed back, not deleted.
 * It stays in the cloud, the garbage collector's listing no longer claims it, a second release
 * changes nothing, and a later ensure takes it back in place (no duplicate).
 */
import assert from 'node:assert/strict';
import type { Harness } from '../harness.js';

/** Words that name a write destroying something; a release must make none of them. */
const deleteVerbs = new Set(['delete', 'deregister', 'terminate', 'destroy']);

/** Removing tags or labels is what a release does (EC2's `DeleteTags`): it destroys nothing. */
const markWords = new Set(['tag', 'tags', 'label', 'labels']);

function isDeleteClass(operation: string): boolean {
  const words = operation
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z]+/)
    .map((w) => w.toLowerCase());
  if (words.some((w) => markWords.has(w))) return false;
  return words.some((w) => deleteVerbs.has(w));
}

export function describeRelease(harness: () => Harness): void {
  it('keeps the load balancer, stops claiming it, and takes it back without a duplicate', async function () {
    const h = harness();
    const { provider } = await h.start();
    if (!provider.releaseLoadBalancer) return this.skip();
    const svc = h.service();
    const nodes = h.nodes(2);
    await h.ensure(provider, svc, nodes);
    const made = await h.inventory();
    const uid = svc.metadata!.uid;

    const mark = h.log.mark();
    await provider.releaseLoadBalancer(h.ctx(), h.clusterName, h.current(svc));
    const destroyed = h.log.writesSince(mark).filter(isDeleteClass);
    assert.deepEqual(destroyed, [], 'a release destroyed cloud resources');
    assert.equal((await h.inventory()).length, made.length, 'the cloud lost resources on release');
    assert.ok(
      await provider.getLoadBalancer(h.ctx(), h.clusterName, h.current(svc)),
      'getLoadBalancer no longer finds the released load balancer',
    );
    if (provider.listLoadBalancers) {
      const listed = await provider.listLoadBalancers(h.ctx(), h.clusterName);
      assert.ok(
        !listed.some((lb) => lb.serviceUID === uid),
        'still listed after release: the garbage collector would delete it',
      );
    }

    const again = h.log.mark();
    const released = await h.inventory();
    await provider.releaseLoadBalancer(h.ctx(), h.clusterName, h.current(svc));
    assert.deepEqual(h.log.writesSince(again), [], 'a second release wrote to the cloud');
    assert.deepEqual(await h.inventory(), released, 'a second release changed the cloud');

    // Managed again: the next ensure takes the same load balancer back.
    await h.ensure(provider, svc, nodes);
    assert.deepEqual(await h.inventory(), made, 'taking it back did not restore what ensure made');
    if (provider.listLoadBalancers) {
      const listed = await provider.listLoadBalancers(h.ctx(), h.clusterName);
      assert.ok(
        listed.some((lb) => lb.serviceUID === uid),
        'not listed again after the ensure that took it back',
      );
    }
  });
}
