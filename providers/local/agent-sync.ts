/**
 * What a proxy agent serves, decided from the Service and Node caches: every LoadBalancer Service
 * whose status carries an address from the pool, with the nodes the controller would target.
 * Kept apart from the watching so it can be tested without an API server.
 */
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { isEligibleNode } from '../../contract/nodes.js';
import { validateCapabilities } from '../../contract/capabilities.js';
import type { Logger } from '../../contract/logger.js';
import type { AddressPool } from './address-pool.js';
import { parseServiceSettings } from './annotations.js';
import type { DataPath } from './data-path.js';
import { localCapabilities } from './provider.js';
import { virtualServiceFor, type VirtualServiceSpec } from './virtual-service.js';

export interface DesiredServices {
  /** Services to serve exactly as specified. */
  readonly serve: VirtualServiceSpec[];
  /**
   * Keys of Services with an address whose current spec the controller refuses: served as they
   * were (if at all), since the controller leaves an existing load balancer untouched too.
   */
  readonly keep: string[];
}

export function desiredServices(
  services: readonly Readonly<V1Service>[],
  nodes: readonly Readonly<V1Node>[],
  pool: AddressPool,
): DesiredServices {
  const eligible = nodes.filter((n) => isEligibleNode(n, false));
  const serve: VirtualServiceSpec[] = [];
  const keep: string[] = [];
  for (const svc of services) {
    if (svc.spec?.type !== 'LoadBalancer' || svc.metadata?.deletionTimestamp) continue;
    const ip = svc.status?.loadBalancer?.ingress?.find((i) => i.ip && pool.contains(i.ip))?.ip;
    if (!ip || !svc.metadata?.uid) continue;
    // The same checks the controller makes before it calls the provider.
    const { settings, errors } = parseServiceSettings(svc);
    if (errors.length > 0 || validateCapabilities(svc, localCapabilities).length > 0)
      keep.push(svc.metadata.uid);
    else serve.push(virtualServiceFor(svc, ip, settings, eligible));
  }
  return { serve, keep };
}

/**
 * Brings the data path in line with `desired`. A listener that cannot bind is skipped and logged,
 * not fatal: on an edge node that does not hold that address right now it is expected (the next
 * resync binds it once the address moves here).
 */
export async function reconcileDataPath(
  dataPath: DataPath,
  desired: DesiredServices,
  logger: Logger,
): Promise<void> {
  const wanted = new Set([...desired.serve.map((s) => s.key), ...desired.keep]);
  for (const key of dataPath.serviceKeys) if (!wanted.has(key)) await dataPath.remove(key);
  for (const spec of desired.serve) {
    try {
      await dataPath.apply(spec);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const level = code === 'EADDRNOTAVAIL' ? 'debug' : 'warn';
      logger[level]({ service: spec.name, address: spec.address, code }, 'cannot serve yet');
    }
  }
}
