/**
 * Deleting a Service's resources whatever state a crash left them in, in dependency order
 * (forwarding rules, firewalls, backend service, health check, address, then the cluster's
 * groups nothing uses any more); a 404 counts as done. And finding owned resources whose Service
 * is gone, for the garbage collector; released ones (release.ts) are not owned.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { CallContext, OwnedLoadBalancer } from '../../contract/provider.js';
import type { GcpEnv } from './env.js';
import { deleteFirewalls } from './firewalls.js';
import { clusterGroupZones, deleteUnusedGroups } from './instance-groups.js';
import { clusterPrefix, serviceNames } from './names.js';
import { isReleased, ownedBy, parseOwner } from './ownership.js';
import { deleteRule } from './reconcile.js';

export async function deleteLoadBalancer(
  env: GcpEnv,
  ctx: CallContext,
  service: Readonly<V1Service>,
): Promise<void> {
  const { calls, project, region } = env;
  const uid = service.metadata!.uid!;
  const names = serviceNames(env.clusterName, service);
  for (const name of Object.values(names.forwardingRule)) {
    ctx.signal.throwIfAborted();
    await deleteRule(env, name);
  }
  ctx.signal.throwIfAborted();
  await deleteFirewalls(env, [names.firewall, names.healthCheckFirewall]);
  ctx.signal.throwIfAborted();
  await calls.remove('regionBackendServices.delete', { region }, (requestId) =>
    calls.clients.backendServices.delete({
      project,
      region,
      backendService: names.backendService,
      requestId,
    }),
  );
  ctx.signal.throwIfAborted();
  await calls.remove('regionHealthChecks.delete', { region }, (requestId) =>
    calls.clients.healthChecks.delete({
      project,
      region,
      healthCheck: names.healthCheck,
      requestId,
    }),
  );
  // Only an address kube-lbc reserved: a user's own reservation is named otherwise.
  const address = await calls.get('addresses.get', () =>
    calls.clients.addresses.get({ project, region, address: names.address }),
  );
  if (address && ownedBy(address.description, env.clusterName, uid)) {
    ctx.signal.throwIfAborted();
    await calls.remove('addresses.delete', { region }, (requestId) =>
      calls.clients.addresses.delete({ project, region, address: names.address, requestId }),
    );
  }
  // Every group of the cluster, found by name: a crash after the backend service went must not
  // hide a group the last Service left.
  const zones = await clusterGroupZones(env);
  ctx.signal.throwIfAborted();
  await deleteUnusedGroups(env, zones);
}

/**
 * Every collection a Service's resources live in, listed by the cluster's name prefix. A
 * released resource claims nothing: its description no longer names the cluster, or (where the
 * description is fixed) it carries the `kube-lbc-released` label.
 */
export async function listOwned(env: GcpEnv): Promise<OwnedLoadBalancer[]> {
  const { calls, project, region } = env;
  const filter = `name eq ${clusterPrefix(env.clusterName)}.*`;
  const c = calls.clients;
  const lists = [
    await calls.read('forwardingRules.list', () =>
      c.forwardingRules.list({ project, region, filter }),
    ),
    await calls.read('regionBackendServices.list', () =>
      c.backendServices.list({ project, region, filter }),
    ),
    await calls.read('regionHealthChecks.list', () =>
      c.healthChecks.list({ project, region, filter }),
    ),
    await calls.read('addresses.list', () => c.addresses.list({ project, region, filter })),
    await calls.read('firewalls.list', () => c.firewalls.list({ project, filter })),
  ];
  const found = new Map<string, OwnedLoadBalancer>();
  for (const [items] of lists) {
    for (const item of items as {
      description?: string | null;
      labels?: Record<string, string> | null;
    }[]) {
      if (isReleased(item.labels)) continue;
      const owner = parseOwner(item.description);
      if (owner?.cluster !== env.clusterName || !owner.uid || found.has(owner.uid)) continue;
      found.set(owner.uid, {
        serviceUID: owner.uid,
        namespace: owner.namespace ?? '',
        name: owner.name ?? '',
      });
    }
  }
  return [...found.values()];
}
