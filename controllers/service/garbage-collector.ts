/**
 * Removes load balancers this cluster owns whose Service no longer exists: the finalizer protects
 * against leaks while kube-lbc runs, this covers a Service deleted while it was down and stripped
 * of its finalizer by hand. Only for providers that can list what they own by tag.
 *
 * A Service that still exists but stopped being a LoadBalancer while kube-lbc was down (its
 * finalizer gone with the change) is never deleted from here: it may be turning back into one
 * right now. It is handed to the per-key sync, which decides from the latest cache.
 */
import type { V1Service } from '@kubernetes/client-node';
import { errorMessage } from '../../contract/errors.js';
import type { CallContext, LoadBalancerProvider } from '../../contract/provider.js';
import type { Logger } from '../../contract/logger.js';
import { hasCleanupFinalizer } from './predicates.js';

export interface GarbageCollectorDeps {
  readonly provider: LoadBalancerProvider;
  readonly clusterName: string;
  readonly services: () => readonly V1Service[];
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /**
   * A live Service, no longer a LoadBalancer, whose load balancer we own: record that we made it
   * and queue the Service, so its sync deletes it (one sync per key, from the latest cache).
   */
  readonly handOff: (svc: V1Service) => void;
}

/** Deletes orphans; returns how many it deleted. */
export async function collectGarbage(deps: GarbageCollectorDeps): Promise<number> {
  const { provider, clusterName, logger, signal } = deps;
  if (!provider.listLoadBalancers) return 0;
  const ctx: CallContext = { signal, logger, recordEvent: () => {} };
  const owned = await provider.listLoadBalancers(ctx, clusterName);
  // Snapshot the live UIDs after the listing: a load balancer in the list was made for a Service
  // the cache had already seen, so a Service created during the listing cannot look orphaned.
  const live = new Map(deps.services().map((s) => [s.metadata?.uid, s]));
  let deleted = 0;
  for (const lb of owned) {
    const svc = live.get(lb.serviceUID);
    if (svc) {
      // Terminating without our finalizer, it is gone soon and collected as an orphan; with it,
      // nothing else removes the finalizer if the Service's class no longer says it was ours.
      const leaving = svc.metadata?.deletionTimestamp != null && !hasCleanupFinalizer(svc);
      if (svc.spec?.type !== 'LoadBalancer' && !leaving) {
        logger.info({ service: `${svc.metadata?.namespace}/${svc.metadata?.name}`, uid: lb.serviceUID }, "load balancer outlived its Service's type change; queueing its cleanup");
        deps.handOff(svc);
      }
      continue;
    }
    signal.throwIfAborted();
    const service = `${lb.namespace}/${lb.name}`;
    logger.info({ service, uid: lb.serviceUID }, 'deleting orphaned load balancer');
    const ghost: V1Service = { metadata: { uid: lb.serviceUID, namespace: lb.namespace, name: lb.name } };
    try {
      await provider.ensureLoadBalancerDeleted({ ...ctx, logger: logger.child({ service }) }, clusterName, ghost);
      deleted++;
    } catch (err) {
      signal.throwIfAborted();
      // One orphan the cloud will not let go of (still in use, no permission) must not keep the
      // ones after it in the list alive: the next pass tries it again.
      logger.error({ service, uid: lb.serviceUID, err: errorMessage(err) }, 'could not delete orphaned load balancer');
    }
  }
  return deleted;
}
