/** Get, ensure, update hosts and delete on one load balancer: idempotent, minimal, leak-free. */
import assert from 'node:assert/strict';
import type { Harness } from '../harness.js';
import { httpsPort } from '../objects.js';

const noWrites = (what: string) => `${what} made cloud writes although nothing changed`;

export function describeLifecycle(harness: () => Harness): void {
  it('reports a load balancer that does not exist as undefined, without a write', async () => {
    const h = harness();
    const { provider } = await h.start();
    const mark = h.log.mark();
    assert.equal(await provider.getLoadBalancer(h.ctx(), h.clusterName, h.service()), undefined);
    assert.deepEqual(h.log.writesSince(mark), [], 'getLoadBalancer must be read-only');
  });

  it('creates a load balancer through the given CloudCalls and returns its ingress', async () => {
    const h = harness();
    const before = await h.inventory();
    const { provider } = await h.start();
    const svc = h.service();
    const mark = h.log.mark();
    const status = await h.ensure(provider, svc, h.nodes(2));
    assert.ok(
      h.log.writesSince(mark).length > 0,
      'no write went through options.cloudCalls: route every cloud call through it',
    );
    assert.ok(status.ingress.length > 0, 'ensureLoadBalancer returned no ingress');
    for (const ingress of status.ingress) {
      assert.ok(
        ingress.ip || ingress.hostname,
        `ingress without ip or hostname: ${JSON.stringify(ingress)}`,
      );
    }
    assert.notDeepEqual(await h.inventory(), before, 'the inventory did not change');
    const got = await provider.getLoadBalancer(h.ctx(), h.clusterName, svc);
    assert.deepEqual(got?.ingress, status.ingress, 'getLoadBalancer disagrees with ensure');
  });

  it('makes no write when ensured again with the same input, also after a restart', async () => {
    const h = harness();
    const { provider } = await h.start();
    const svc = h.service();
    const status = await h.ensure(provider, svc, h.nodes(2));
    const mark = h.log.mark();
    assert.deepEqual(await h.ensure(provider, svc, h.nodes(2)), status);
    assert.deepEqual(h.log.writesSince(mark), [], noWrites('a second ensure'));
    assert.deepEqual(await h.ensure((await h.start()).provider, svc, h.nodes(2)), status);
    assert.deepEqual(h.log.writesSince(mark), [], noWrites('an ensure after a restart'));
  });

  it('updates the hosts when a node joins, and writes nothing for the same nodes', async () => {
    const h = harness();
    const { provider } = await h.start();
    const svc = h.service();
    await h.ensure(provider, svc, h.nodes(2));
    let mark = h.log.mark();
    await provider.updateLoadBalancerHosts(h.ctx(), h.clusterName, svc, h.nodes(3));
    assert.ok(h.log.writesSince(mark).length > 0, 'a new node made no write');
    mark = h.log.mark();
    await provider.updateLoadBalancerHosts(h.ctx(), h.clusterName, svc, h.nodes(3));
    assert.deepEqual(h.log.writesSince(mark), [], noWrites('updating to the same nodes'));
    await h.ensure(provider, svc, h.nodes(3));
    assert.deepEqual(h.log.writesSince(mark), [], noWrites('ensure after a hosts update'));
  });

  it('makes no write once the context is aborted (leadership lost)', async () => {
    const h = harness();
    const before = await h.inventory();
    const { provider } = await h.start();
    const mark = h.log.mark();
    const signal = AbortSignal.abort();
    const svc = h.service();
    await provider
      .ensureLoadBalancer(h.ctx(signal), h.clusterName, svc, h.nodes(1))
      .catch(() => {});
    assert.deepEqual(h.log.writesSince(mark), [], 'wrote although ctx.signal was aborted');
    assert.deepEqual(await h.inventory(), before);
  });

  it('makes no further write once the context aborts mid-create (leadership lost)', async () => {
    const h = harness();
    const { provider, gate } = await h.start();
    const lost = new AbortController();
    // The first write lands, then the lease is gone: the next leader may be writing already.
    gate.afterCall = (operation) => {
      if (h.log.isWrite(operation)) lost.abort(new Error('leadership lost'));
    };
    const mark = h.log.mark();
    await provider
      .ensureLoadBalancer(h.ctx(lost.signal), h.clusterName, h.service(), h.nodes(2))
      .catch(() => {});
    gate.afterCall = undefined;
    const [first, ...after] = h.log.writesSince(mark);
    assert.ok(first, 'a create made no write');
    assert.deepEqual(after, [], `wrote after ${first}, when ctx.signal had aborted`);
  });

  it('leaves a missing load balancer alone when updating hosts', async () => {
    const h = harness();
    const before = await h.inventory();
    const { provider } = await h.start();
    await provider.updateLoadBalancerHosts(h.ctx(), h.clusterName, h.service(), h.nodes(2));
    assert.deepEqual(await h.inventory(), before);
  });

  it('applies a port change through ensure, once', async () => {
    const h = harness();
    const { provider } = await h.start();
    const svc = h.service();
    await h.ensure(provider, svc, h.nodes(2));
    const withHttps = h.edit(svc, (s) => void s.spec!.ports!.push({ ...httpsPort }));
    let mark = h.log.mark();
    const before = await h.inventory();
    await h.ensure(provider, withHttps, h.nodes(2));
    assert.ok(h.log.writesSince(mark).length > 0, 'a new port made no write');
    assert.notDeepEqual(await h.inventory(), before, 'the inventory did not change');
    mark = h.log.mark();
    await h.ensure((await h.start()).provider, withHttps, h.nodes(2));
    assert.deepEqual(h.log.writesSince(mark), [], noWrites('ensure after a port change'));
  });

  it('deletes everything it made', async () => {
    const h = harness();
    const before = await h.inventory();
    const { provider } = await h.start();
    const svc = h.service();
    await h.ensure(provider, svc, h.nodes(2));
    await provider.ensureLoadBalancerDeleted(h.ctx(), h.clusterName, svc);
    assert.deepEqual(await h.inventory(), before, 'something was left behind');
    assert.equal(await provider.getLoadBalancer(h.ctx(), h.clusterName, svc), undefined);
  });

  it('deletes from the UID, namespace and name alone, as the garbage collector calls it', async () => {
    const h = harness();
    const before = await h.inventory();
    const svc = h.service();
    await h.ensure((await h.start()).provider, svc, h.nodes(1));
    const { uid, namespace, name } = svc.metadata!;
    const gone = { metadata: { uid, namespace, name } };
    await (await h.start()).provider.ensureLoadBalancerDeleted(h.ctx(), h.clusterName, gone);
    assert.deepEqual(await h.inventory(), before, 'something was left behind');
  });

  it('succeeds deleting what never existed', async () => {
    const h = harness();
    const before = await h.inventory();
    const { provider } = await h.start();
    await provider.ensureLoadBalancerDeleted(h.ctx(), h.clusterName, h.service());
    assert.deepEqual(await h.inventory(), before);
  });

  it('succeeds deleting twice, also across a restart', async () => {
    const h = harness();
    const before = await h.inventory();
    const { provider } = await h.start();
    const svc = h.service();
    await h.ensure(provider, svc, h.nodes(1));
    await provider.ensureLoadBalancerDeleted(h.ctx(), h.clusterName, svc);
    await provider.ensureLoadBalancerDeleted(h.ctx(), h.clusterName, svc);
    await (await h.start()).provider.ensureLoadBalancerDeleted(h.ctx(), h.clusterName, svc);
    assert.deepEqual(await h.inventory(), before);
  });
}
