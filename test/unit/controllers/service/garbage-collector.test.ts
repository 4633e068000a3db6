import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { collectGarbage } from '../../../../controllers/service/garbage-collector.js';
import type { LoadBalancerProvider, OwnedLoadBalancer } from '../../../../providers/provider.js';
import { noopLogger } from '../../../../runtime/logger.js';

const owned = (uid: string): OwnedLoadBalancer => ({
  serviceUID: uid,
  namespace: 'default',
  name: `svc-${uid}`,
});
const live = (uid: string): V1Service => ({
  metadata: { uid, namespace: 'default', name: `svc-${uid}` },
});

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
      logger: noopLogger,
      signal: new AbortController().signal,
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
      logger: noopLogger,
      signal: new AbortController().signal,
    });
    assert.deepEqual(deleted, ['a', 'b']);
    assert.equal(n, 2);
  });
});
