/**
 * Removes load balancers this cluster owns whose Service no longer exists: the finalizer protects
 * against leaks while kube-lbc runs, this covers a Service deleted while it was down and stripped
 * of its finalizer by hand. Only for providers that can list what they own by tag.
 */
import type { V1Service } from '@kubernetes/client-node';
import { errorMessage } from '../../providers/errors.js';
import type { CallContext, LoadBalancerProvider } from '../../providers/provider.js';
import type { Logger } from '../../runtime/logger.js';

export interface GarbageCollectorDeps {
  readonly provider: LoadBalancerProvider;
  readonly clusterName: string;
  readonly services: () => readonly V1Service[];
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/** Deletes orphans; returns how many it deleted. */
export async function collectGarbage(deps: GarbageCollectorDeps): Promise<number> {
  const { provider, clusterName, logger, signal } = deps;
  if (!provider.listLoadBalancers) return 0;
  const ctx: CallContext = { signal, logger, recordEvent: () => {} };
  const owned = await provider.listLoadBalancers(ctx, clusterName);
  // Snapshot the live UIDs after the listing: a load balancer in the list was made for a Service
  // the cache had already seen, so a Service created during the listing cannot look orphaned.
  const live = new Set(deps.services().map((s) => s.metadata?.uid));
  let deleted = 0;
  for (const lb of owned) {
    if (live.has(lb.serviceUID)) continue;
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
