/**
 * The cluster's unmanaged instance groups, one per zone, shared by every Service (as GKE does):
 * each holds the eligible nodes of its zone. Membership changes are minimal, one add and one
 * remove at most per zone, so a node joining costs one write per zone it touches however many
 * Services there are: the first Service to sync does it, the others find it done.
 */
import { rel, type GcpEnv } from './env.js';
import type { NodeInstance } from './desired.js';
import { instanceGroupName } from './names.js';
import { clusterDescription } from './ownership.js';
import { networkPath } from './env.js';

/**
 * Brings every zone's group to the instances given. `alsoZones` are zones a backend service
 * still lists: their groups are emptied when no node is left there. Returns the group paths of
 * the zones that have nodes, sorted.
 */
export async function ensureGroups(
  env: GcpEnv,
  instances: readonly NodeInstance[],
  alsoZones: readonly string[] = [],
): Promise<string[]> {
  const { calls, project } = env;
  const { instanceGroups } = calls.clients;
  const name = instanceGroupName(env.clusterName);
  const byZone = new Map<string, string[]>();
  for (const i of instances) byZone.set(i.zone, [...(byZone.get(i.zone) ?? []), i.name]);
  for (const z of alsoZones) if (!byZone.has(z)) byZone.set(z, []);
  const groups: string[] = [];
  for (const [zone, want] of [...byZone].sort(([a], [b]) => a.localeCompare(b))) {
    const group = await calls.get('instanceGroups.get', () =>
      instanceGroups.get({ project, zone, instanceGroup: name }),
    );
    if (!group && want.length === 0) continue;
    if (!group) {
      await calls.write('instanceGroups.insert', { zone }, (requestId) =>
        instanceGroups.insert({
          project,
          zone,
          requestId,
          instanceGroupResource: {
            name,
            description: clusterDescription(env.clusterName),
            network: networkPath(env),
          },
        }),
      );
    }
    const members = group && Number(group.size ?? 0) > 0 ? await listMembers(env, zone, name) : [];
    const link = (instance: string) => ({
      instance: `projects/${project}/zones/${zone}/instances/${instance}`,
    });
    const add = want.filter((n) => !members.includes(n)).sort();
    const remove = members.filter((n) => !want.includes(n)).sort();
    if (add.length > 0) {
      await calls.write('instanceGroups.addInstances', { zone }, (requestId) =>
        instanceGroups.addInstances({
          project,
          zone,
          instanceGroup: name,
          requestId,
          instanceGroupsAddInstancesRequestResource: { instances: add.map(link) },
        }),
      );
    }
    if (remove.length > 0) {
      await calls.write('instanceGroups.removeInstances', { zone }, (requestId) =>
        instanceGroups.removeInstances({
          project,
          zone,
          instanceGroup: name,
          requestId,
          instanceGroupsRemoveInstancesRequestResource: { instances: remove.map(link) },
        }),
      );
    }
    if (want.length > 0) groups.push(groupPath(env, zone));
  }
  return groups;
}

/** The zones holding one of the cluster's groups, in one aggregated list over the region's zones. */
export async function clusterGroupZones(env: GcpEnv): Promise<string[]> {
  const { calls, project } = env;
  const filter = `name eq ${instanceGroupName(env.clusterName)}`;
  return calls.read('instanceGroups.aggregatedList', async () => {
    const zones: string[] = [];
    for await (const [scope, list] of calls.clients.instanceGroups.aggregatedListAsync(
      { project, filter },
      { autoPaginate: false },
    )) {
      const zone = scope.replace(/^zones\//, '');
      if ((list.instanceGroups ?? []).length > 0 && zone.startsWith(`${env.region}-`))
        zones.push(zone);
    }
    return zones.sort();
  });
}

export function groupPath(env: GcpEnv, zone: string): string {
  return `projects/${env.project}/zones/${zone}/instanceGroups/${instanceGroupName(env.clusterName)}`;
}

/** The zone of a group path or selfLink. */
export function zoneOf(link: string): string {
  return rel(link).split('/')[1] ?? '';
}

async function listMembers(env: GcpEnv, zone: string, name: string): Promise<string[]> {
  const { calls, project } = env;
  const [items] = await calls.read('instanceGroups.listInstances', () =>
    calls.clients.instanceGroups.listInstances({
      project,
      zone,
      instanceGroup: name,
      instanceGroupsListInstancesRequestResource: {},
    }),
  );
  return items.map((i) => (i.instance ?? '').split('/').pop()!).filter((n) => n !== '');
}

/**
 * Deletes the cluster's groups in `zones` that no backend service uses any more. A group still
 * in use (another Service's backend) is refused by GCE and kept.
 */
export async function deleteUnusedGroups(env: GcpEnv, zones: readonly string[]): Promise<void> {
  const { calls, project } = env;
  const name = instanceGroupName(env.clusterName);
  for (const zone of [...new Set(zones)].sort()) {
    try {
      await calls.remove('instanceGroups.delete', { zone }, (requestId) =>
        calls.clients.instanceGroups.delete({ project, zone, instanceGroup: name, requestId }),
      );
    } catch (err) {
      if ((err as { cloudCode?: string }).cloudCode !== 'resourceInUseByAnotherResource') throw err;
    }
  }
}
