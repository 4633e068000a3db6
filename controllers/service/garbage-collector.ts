/**
 * Removes load balancers this cluster owns whose Service no longer exists: the finalizer protects
 * against leaks while kube-lbc runs, this covers a Service deleted while it was down and stripped
 * of its finalizer by hand. Only for providers that can list what they own by tag.
 *
 * A load balancer is deleted only when its Service is proved gone from this cluster: its UID is
 * not in the informer cache, and a direct read of namespace/name finds nothing or a Service with
 * another UID. The cache alone can be behind (a Service created a moment ago, a relist under
 * way), and a load balancer deleted on that word would leave a Ready Service without one.
 *
 * A Service that still exists but stopped being a LoadBalancer while kube-lbc was down (its
 * finalizer gone with the change) is never deleted from here: it may be turning back into one
 * right now. It is handed to the per-key sync, which decides from the latest cache.
 */
import type { V1Service } from '@kubernetes/client-node';
import { errorMessage } from '../../contract/errors.js';
import type {
  CallContext,
  LoadBalancerProvider,
  OwnedLoadBalancer,
} from '../../contract/provider.js';
import type { Logger } from '../../contract/logger.js';
import { hasCleanupFinalizer, releaseRequest } from './predicates.js';

export interface GarbageCollectorDeps {
  readonly provider: LoadBalancerProvider;
  readonly clusterName: string;
  readonly services: () => readonly V1Service[];
  /** Reads a Service from the API server, not the cache; undefined when it is not found (404). */
  readonly getService: (namespace: string, name: string) => Promise<V1Service | undefined>;
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
      // A released Service's load balancer is no longer ours to delete, whatever its type.
      if (releaseRequest(svc) !== 'managed') continue;
      if (svc.spec?.type !== 'LoadBalancer' && !leaving) {
        logger.info(
          { service: `${svc.metadata?.namespace}/${svc.metadata?.name}`, uid: lb.serviceUID },
          "load balancer outlived its Service's type change; queueing its cleanup",
        );
        deps.handOff(svc);
      }
      continue;
    }
    signal.throwIfAborted();
    const service = `${lb.namespace}/${lb.name}`;
    if (!(await provedGone(deps, lb, service))) continue;
    signal.throwIfAborted();
    logger.info({ service, uid: lb.serviceUID }, 'deleting orphaned load balancer');
    const ghost: V1Service = {
      metadata: { uid: lb.serviceUID, namespace: lb.namespace, name: lb.name },
    };
    try {
      await provider.ensureLoadBalancerDeleted(
        { ...ctx, logger: logger.child({ service }) },
        clusterName,
        ghost,
      );
      deleted++;
    } catch (err) {
      signal.throwIfAborted();
      // One orphan the cloud will not let go of (still in use, no permission) must not keep the
      // ones after it in the list alive: the next pass tries it again.
      logger.error(
        { service, uid: lb.serviceUID, err: errorMessage(err) },
        'could not delete orphaned load balancer',
      );
    }
  }
  return deleted;
}

/** The API server has no Service of this UID under the name the load balancer was tagged with. */
async function provedGone(
  deps: GarbageCollectorDeps,
  lb: OwnedLoadBalancer,
  service: string,
): Promise<boolean> {
  try {
    const current = await deps.getService(lb.namespace, lb.name);
    if (current?.metadata?.uid !== lb.serviceUID) return true;
    deps.logger.info(
      { service, uid: lb.serviceUID },
      'Service exists though the cache has not seen it yet; keeping its load balancer',
    );
  } catch (err) {
    deps.signal.throwIfAborted();
    deps.logger.warn(
      { service, uid: lb.serviceUID, err: errorMessage(err) },
      'could not read the Service; keeping its load balancer until the next pass',
    );
  }
  return false;
}
