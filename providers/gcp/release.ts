/**
 * Handing a Service's load balancer back (the contract's releaseLoadBalancer): every resource
 * stays as it is, serving traffic; only the claim goes. Backend service, health check and
 * firewalls get cloud-provider-gcp's description (`{"kubernetes.io/service-name":"ns/name"}`,
 * no cluster); the forwarding rules and kube-lbc's own address keep theirs, which Compute Engine
 * cannot change in place (forwarding rules patch only their tier and global access, addresses
 * not at all), and get the `kube-lbc-released` label. listOwned skips both, so the garbage
 * collector no longer finds the load balancer. Every resource is read first and written only
 * while it still claims: a second release makes reads only.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { protos } from '@google-cloud/compute';
import type { CallContext } from '../../contract/provider.js';
import type { GcpEnv } from './env.js';
import { markReleased } from './labels.js';
import { serviceNames } from './names.js';
import { ownedBy, releasedDescription } from './ownership.js';
import { getBackendService, patchBackendService, readRules } from './reconcile.js';

type Firewall = protos.google.cloud.compute.v1.IFirewall;

export async function releaseLoadBalancer(
  env: GcpEnv,
  ctx: CallContext,
  service: Readonly<V1Service>,
): Promise<void> {
  const { calls, project, region, clusterName } = env;
  const uid = service.metadata!.uid!;
  const names = serviceNames(clusterName, service);
  const claims = (item: { description?: string | null } | undefined): item is object =>
    item !== undefined && ownedBy(item.description, clusterName, uid);
  const description = releasedDescription(service);

  for (const rule of (await readRules(env, names.forwardingRule)).values()) {
    ctx.signal.throwIfAborted();
    if (claims(rule)) await markReleased(env, 'forwardingRules', rule, true);
  }
  for (const firewall of [names.firewall, names.healthCheckFirewall]) {
    const have: Firewall | undefined = await calls.get('firewalls.get', () =>
      calls.clients.firewalls.get({ project, firewall }),
    );
    ctx.signal.throwIfAborted();
    if (!claims(have)) continue;
    await calls.write('firewalls.patch', 'global', (requestId) =>
      calls.clients.firewalls.patch({
        project,
        firewall,
        requestId,
        firewallResource: { description },
      }),
    );
  }
  const bs = await getBackendService(env, names.backendService);
  ctx.signal.throwIfAborted();
  if (claims(bs)) await patchBackendService(env, bs, { description });
  const hc = await calls.get('regionHealthChecks.get', () =>
    calls.clients.healthChecks.get({ project, region, healthCheck: names.healthCheck }),
  );
  ctx.signal.throwIfAborted();
  if (claims(hc)) {
    await calls.write('regionHealthChecks.patch', { region }, (requestId) =>
      calls.clients.healthChecks.patch({
        project,
        region,
        healthCheck: names.healthCheck,
        requestId,
        healthCheckResource: { description },
      }),
    );
  }
  // Only an address kube-lbc reserved: a user's own reservation was never claimed.
  const address = await calls.get('addresses.get', () =>
    calls.clients.addresses.get({ project, region, address: names.address }),
  );
  ctx.signal.throwIfAborted();
  if (claims(address)) await markReleased(env, 'addresses', address, true);
  ctx.logger.info({ loadBalancer: names.backendService }, 'released: resources left');
}
