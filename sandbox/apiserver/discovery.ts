/**
 * Discovery documents (`/api`, `/api/v1`, `/apis`, `/apis/<group>[/<version>]`) and `/version`,
 * in the legacy (unaggregated) form: kubectl asks for aggregated discovery first and falls back
 * to these when the response is plain `application/json`.
 */
import { apiVersionOf, type ResourceType } from './types.js';

/** The release reported: kubectl's version dispatcher picks its matching binary from it. */
export const EMULATED_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.4' };

export function versionInfo() {
  return {
    ...EMULATED_VERSION,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'go1.23.6',
    compiler: 'gc',
    platform: 'linux/amd64',
    emulator: 'kube-lbc sandbox/apiserver',
  };
}

export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDoc(group: string, versions: string[]) {
  const gvs = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions: gvs, preferredVersion: gvs[0] };
}

function groupsOf(registry: ResourceType[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const rt of registry) {
    if (!rt.group) continue;
    const versions = groups.get(rt.group) ?? [];
    if (!versions.includes(rt.version)) versions.push(rt.version);
    groups.set(rt.group, versions);
  }
  return groups;
}

export function apiGroupList(registry: ResourceType[]) {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groupsOf(registry)].map(([group, versions]) => groupDoc(group, versions)),
  };
}

export function apiGroup(registry: ResourceType[], group: string) {
  const versions = groupsOf(registry).get(group);
  return versions && { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group, versions) };
}

export function apiResourceList(registry: ResourceType[], group: string, version: string) {
  const rts = registry.filter((rt) => rt.group === group && rt.version === version);
  if (rts.length === 0) return undefined;
  const resources = rts.flatMap((rt) => [
    {
      name: rt.resource,
      singularName: rt.singular,
      namespaced: rt.namespaced,
      kind: rt.kind,
      verbs: rt.verbs,
      ...(rt.shortNames ? { shortNames: rt.shortNames } : {}),
      ...(rt.categories ? { categories: rt.categories } : {}),
    },
    ...rt.subresources.map((sub) => ({
      name: `${rt.resource}/${sub}`,
      singularName: '',
      namespaced: rt.namespaced,
      kind: rt.kind,
      verbs: ['get', 'patch', 'update'],
    })),
  ]);
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group, version }),
    resources,
  };
}
