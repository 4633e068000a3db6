import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { collectGarbage } from '../../../../controllers/service/garbage-collector.js';
import type { LoadBalancerProvider, OwnedLoadBalancer } from '../../../../contract/provider.js';
import { noopLogger } from '../../../../contract/logger.js';

const owned = (uid: string): OwnedLoadBalancer => ({
  serviceUID: uid,
  namespace: 'default',
  name: `svc-${uid}`,
});
const live = (uid: string, type = 'LoadBalancer'): V1Service => ({
  metadata: { uid, namespace: 'default', name: `svc-${uid}` },
  spec: { type },
});
const noHandOff = () => assert.fail('nothing to hand off');
/** The API server holds none of the Services the cache does not. */
const notFound = async () => undefined;

/** A provider that owns `lbs` and fails to delete the ones named in `stuck`. */
function provider(lbs: OwnedLoadBalancer[], stuck: Set<string>) {
  const deleted: string[] = [];
  const p = {
    listLoadBalancers: async () => lbs,
    ensureLoadBalancerDeleted: async (
      _ctx: unknown,
      _cluster: string,
      svc: Readonly<V1Service>,
    ) => {
      const uid = svc.metadata!.uid!;
      if (stuck.has(uid)) throw new Error(`DependencyViolation on ${uid}`);
      deleted.push(uid);
    },
  } as unknown as LoadBalancerProvider;
  return { provider: p, deleted };
}

describe('collectGarbage', () => {
  it('deletes the load balancers whose Service is gone and keeps the others', async () => {
    const { provider: p, deleted } = provider([owned('a'), owned('b')], new Set());
    const n = await collectGarbage({
      provider: p,
      clusterName: 'test',
      services: () => [live('b')],
      getService: notFound,
      logger: noopLogger,
      signal: new AbortController().signal,
      handOff: noHandOff,
    });
    assert.equal(n, 1);
    assert.deepEqual(deleted, ['a']);
  });

  it('goes on to the other orphans when one cannot be deleted', async () => {
    const { provider: p, deleted } = provider(
      [owned('stuck'), owned('a'), owned('b')],
      new Set(['stuck']),
    );
    const n = await collectGarbage({
      provider: p,
      clusterName: 'test',
      services: () => [],
      getService: notFound,
      logger: noopLogger,
      signal: new AbortController().signal,
      handOff: noHandOff,
    });
    assert.deepEqual(deleted, ['a', 'b']);
    assert.equal(n, 2);
  });

  it('hands a live Service that is no longer a LoadBalancer to the sync instead of deleting', async () => {
    const { provider: p, deleted } = provider(
      [owned('a'), owned('b'), owned('c'), owned('d')],
      new Set(),
    );
    const terminating = live('c', 'ClusterIP');
    terminating.metadata!.deletionTimestamp = new Date();
    const held = live('d', 'ClusterIP');
    held.metadata!.deletionTimestamp = new Date();
    held.metadata!.finalizers = ['service.kubernetes.io/load-balancer-cleanup'];
    const handedOff: string[] = [];
    const n = await collectGarbage({
      provider: p,
      clusterName: 'test',
      services: () => [live('a', 'ClusterIP'), live('b'), terminating, held],
      getService: notFound,
      logger: noopLogger,
      signal: new AbortController().signal,
      handOff: (svc) => handedOff.push(svc.metadata!.uid!),
    });
    assert.equal(n, 0);
    assert.deepEqual(deleted, []);
    // Terminating without our finalizer, it is gone soon: the next pass deletes it as an orphan.
    // With our finalizer, only its sync can let it go.
    assert.deepEqual(handedOff, ['a', 'd']);
  });

  it('keeps a load balancer whose Service the cache has not seen but the API server has', async () => {
    // Tagged a, b, c by name; the cache is empty (behind, or relisting).
    const { provider: p, deleted } = provider([owned('a'), owned('b'), owned('c')], new Set());
    const reads: string[] = [];
    const n = await collectGarbage({
      provider: p,
      clusterName: 'test',
      services: () => [],
      getService: async (namespace, name) => {
        reads.push(`${namespace}/${name}`);
        if (name === 'svc-a') return live('a');
        if (name === 'svc-b') return live('b-recreated');
        throw new Error('connection refused');
      },
      logger: noopLogger,
      signal: new AbortController().signal,
      handOff: noHandOff,
    });
    assert.deepEqual(reads, ['default/svc-a', 'default/svc-b', 'default/svc-c']);
    // a still exists; b's name now belongs to a new Service, so b's UID is gone; c is unproven.
    assert.deepEqual(deleted, ['b']);
    assert.equal(n, 1);
  });
});
