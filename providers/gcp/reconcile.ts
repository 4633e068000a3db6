/**
 * Brings one Service's passthrough load balancer in line with the Service and the nodes: read
 * everything by name, compare with the desired state, write only what differs, in dependency
 * order (address and groups, health check, backend service, forwarding rules, firewalls). A run
 * that died between two writes is finished by the next one, never duplicated. A load balancer
 * released earlier (release.ts) is taken back in place: its descriptions are put back and its
 * `kube-lbc-released` labels taken off.
 */
import type { V1Node, V1Service } from '@kubernetes/client-node';
import type { protos } from '@google-cloud/compute';
import type { CallContext, LoadBalancerStatus } from '../../contract/provider.js';
import {
  desiredState,
  nodeInstances,
  type Desired,
  type DesiredRule,
  type NodeInstance,
} from './desired.js';
import { networkPath, regionPath, rel, sameSet, subnetworkPath, type GcpEnv } from './env.js';
import { isPlanning } from './clients.js';
import { ensureFirewalls } from './firewalls.js';
import { clusterGroupZones, deleteUnusedGroups, ensureGroups, zoneOf } from './instance-groups.js';
import { markReleased } from './labels.js';
import { serviceNames, type RuleKind } from './names.js';

type Rule = protos.google.cloud.compute.v1.IForwardingRule;
type BackendService = protos.google.cloud.compute.v1.IBackendService;
const ruleKinds: readonly RuleKind[] = ['tcp', 'udp', 'l3'];
/** The address a plan shows for one it would reserve (TEST-NET-1: never a real one). */
const PLANNED_ADDRESS = '192.0.2.1';

export async function ensureLoadBalancer(
  env: GcpEnv,
  ctx: CallContext,
  service: Readonly<V1Service>,
  nodes: readonly Readonly<V1Node>[],
): Promise<LoadBalancerStatus> {
  const d = desiredState(env.clusterName, service);
  const instances = instancesWithWarnings(env, ctx, nodes);
  const rules = await readRules(env, d.names.forwardingRule);
  const ip = await ensureAddress(env, d, rules);

  const bs = await getBackendService(env, d.names.backendService);
  const groupZones = await clusterGroupZones(env);
  const groups = await ensureGroups(env, instances, groupZones);
  await ensureHealthCheck(env, d);

  // Rules that no longer fit go first: the backend service may change protocol or be replaced.
  const wanted = new Map(d.rules.map((r) => [r.kind, r]));
  for (const kind of ruleKinds) {
    const have = rules.get(kind);
    const want = wanted.get(kind);
    if (have && (!want || !ruleMatches(env, d, want, have, ip))) {
      ctx.signal.throwIfAborted();
      await deleteRule(env, have.name!);
      rules.delete(kind);
    }
  }
  await ensureBackendService(env, d, bs, groups);
  await deleteEmptied(env, groupZones, groups);
  for (const want of d.rules) {
    ctx.signal.throwIfAborted();
    const have = rules.get(want.kind);
    if (!have) {
      await insertRule(env, d, want, ip);
      continue;
    }
    await markReleased(env, 'forwardingRules', have, false);
    if (d.settings.internal && Boolean(have.allowGlobalAccess) !== d.settings.globalAccess) {
      await env.calls.write('forwardingRules.patch', { region: env.region }, (requestId) =>
        env.calls.clients.forwardingRules.patch({
          project: env.project,
          region: env.region,
          forwardingRule: want.name,
          requestId,
          forwardingRuleResource: {
            allowGlobalAccess: d.settings.globalAccess,
            fingerprint: have.fingerprint ?? null,
          },
        }),
      );
    }
  }
  await ensureFirewalls(env, ctx, d, ip, instances);
  if (d.requestedIP) await releaseOwnAddress(env, d, ip);
  return { ingress: [{ ip }] };
}

/** Points the backend service at the groups of the zones that have nodes; nothing else changes. */
export async function updateHosts(
  env: GcpEnv,
  ctx: CallContext,
  service: Readonly<V1Service>,
  nodes: readonly Readonly<V1Node>[],
): Promise<void> {
  const names = serviceNames(env.clusterName, service);
  const bs = await getBackendService(env, names.backendService);
  if (!bs) return;
  const groupZones = await clusterGroupZones(env);
  const groups = await ensureGroups(env, instancesWithWarnings(env, ctx, nodes), groupZones);
  ctx.signal.throwIfAborted();
  if (
    !sameSet(
      groups.map(rel),
      (bs.backends ?? []).map((b) => rel(b.group)),
    )
  ) {
    await patchBackendService(env, bs, { backends: backendsOf(groups) });
  }
  await deleteEmptied(env, groupZones, groups);
}

/**
 * Groups of zones no node is left in, once this Service's backend service no longer uses them.
 * Another Service's backend service may still: GCE refuses, and that Service's sync retries.
 */
async function deleteEmptied(
  env: GcpEnv,
  groupZones: readonly string[],
  groups: readonly string[],
): Promise<void> {
  const kept = new Set(groups.map(zoneOf));
  const emptied = groupZones.filter((z) => !kept.has(z));
  if (emptied.length > 0) await deleteUnusedGroups(env, emptied);
}

export async function loadBalancerStatus(
  env: GcpEnv,
  service: Readonly<V1Service>,
): Promise<LoadBalancerStatus | undefined> {
  const rules = await readRules(env, serviceNames(env.clusterName, service).forwardingRule);
  const ip = [...rules.values()][0]?.IPAddress;
  return ip ? { ingress: [{ ip }] } : undefined;
}

export async function readRules(
  env: GcpEnv,
  names: Readonly<Record<RuleKind, string>>,
): Promise<Map<RuleKind, Rule>> {
  const out = new Map<RuleKind, Rule>();
  for (const kind of ruleKinds) {
    const rule = await env.calls.get('forwardingRules.get', () =>
      env.calls.clients.forwardingRules.get({
        project: env.project,
        region: env.region,
        forwardingRule: names[kind],
      }),
    );
    if (rule) out.set(kind, rule);
  }
  return out;
}

export async function getBackendService(
  env: GcpEnv,
  name: string,
): Promise<BackendService | undefined> {
  return env.calls.get('regionBackendServices.get', () =>
    env.calls.clients.backendServices.get({
      project: env.project,
      region: env.region,
      backendService: name,
    }),
  );
}

export async function deleteRule(env: GcpEnv, name: string): Promise<void> {
  await env.calls.remove('forwardingRules.delete', { region: env.region }, (requestId) =>
    env.calls.clients.forwardingRules.delete({
      project: env.project,
      region: env.region,
      forwardingRule: name,
      requestId,
    }),
  );
}

function instancesWithWarnings(
  env: GcpEnv,
  ctx: CallContext,
  nodes: readonly Readonly<V1Node>[],
): NodeInstance[] {
  const { instances, skipped } = nodeInstances(nodes, env.project, env.region);
  for (const { node, why } of skipped) {
    ctx.recordEvent('Warning', 'NodeWithoutInstance', `Node ${node} ${why}; it is not a backend`);
  }
  return instances;
}

/**
 * The address the rules use: the requested one (the user's own reservation, else reserved by
 * kube-lbc under its name), or kube-lbc's own. An own address of the wrong type, tier, subnet or
 * IP is replaced; the rules on it go first, since GCE keeps an address in use while they exist.
 */
async function ensureAddress(env: GcpEnv, d: Desired, rules: Map<RuleKind, Rule>): Promise<string> {
  const { calls, project, region } = env;
  const { addresses } = calls.clients;
  const internal = d.settings.internal;
  if (d.requestedIP) {
    const [found] = await calls.read('addresses.list', () =>
      addresses.list({ project, region, filter: `address = "${d.requestedIP}"` }),
    );
    const theirs = found.find((a) => a.name !== d.names.address);
    if (theirs) return theirs.address!;
  }
  const own = await calls.get('addresses.get', () =>
    addresses.get({ project, region, address: d.names.address }),
  );
  const fits =
    own &&
    (own.addressType ?? 'EXTERNAL') === (internal ? 'INTERNAL' : 'EXTERNAL') &&
    (internal
      ? rel(own.subnetwork) === rel(subnetworkPath(env, d.settings.subnet))
      : (own.networkTier ?? 'PREMIUM') === d.settings.networkTier) &&
    (!d.requestedIP || own.address === d.requestedIP);
  if (own && fits) {
    await markReleased(env, 'addresses', own, false);
    return own.address!;
  }
  if (own) {
    for (const [kind, rule] of rules) {
      await deleteRule(env, rule.name!);
      rules.delete(kind);
    }
    await calls.remove('addresses.delete', { region }, (requestId) =>
      addresses.delete({ project, region, address: d.names.address, requestId }),
    );
  }
  await calls.write('addresses.insert', { region }, (requestId) =>
    addresses.insert({
      project,
      region,
      requestId,
      addressResource: {
        name: d.names.address,
        description: d.description,
        ...(d.requestedIP ? { address: d.requestedIP } : {}),
        ...(internal
          ? { addressType: 'INTERNAL', subnetwork: subnetworkPath(env, d.settings.subnet) }
          : { addressType: 'EXTERNAL', networkTier: d.settings.networkTier }),
      },
    }),
  );
  const made = await calls.get('addresses.get', () =>
    addresses.get({ project, region, address: d.names.address }),
  );
  // A plan only pretended to reserve it: the rules it plans need an address to name.
  if (!made && isPlanning()) return d.requestedIP ?? PLANNED_ADDRESS;
  if (!made?.address) throw new Error(`address ${d.names.address} missing right after its insert`);
  return made.address;
}

/** When the rules moved to the user's own address, kube-lbc's earlier one is released. */
async function releaseOwnAddress(env: GcpEnv, d: Desired, ip: string): Promise<void> {
  const { calls, project, region } = env;
  const own = await calls.get('addresses.get', () =>
    calls.clients.addresses.get({ project, region, address: d.names.address }),
  );
  if (own && own.address !== ip) {
    await calls.remove('addresses.delete', { region }, (requestId) =>
      calls.clients.addresses.delete({ project, region, address: d.names.address, requestId }),
    );
  }
}

async function ensureHealthCheck(env: GcpEnv, d: Desired): Promise<void> {
  const { calls, project, region } = env;
  const { healthChecks } = calls.clients;
  const name = d.names.healthCheck;
  const have = await calls.get('regionHealthChecks.get', () =>
    healthChecks.get({ project, region, healthCheck: name }),
  );
  const httpHealthCheck = { port: d.healthCheck.port, requestPath: d.healthCheck.path };
  if (!have) {
    // GKE's L4 values: probe every 8 s, 1 s timeout, 1 success to pass, 3 failures to fail.
    await calls.write('regionHealthChecks.insert', { region }, (requestId) =>
      healthChecks.insert({
        project,
        region,
        requestId,
        healthCheckResource: {
          name,
          description: d.description,
          type: 'HTTP',
          httpHealthCheck,
          checkIntervalSec: 8,
          timeoutSec: 1,
          healthyThreshold: 1,
          unhealthyThreshold: 3,
        },
      }),
    );
    return;
  }
  const probeDiffers =
    have.type !== 'HTTP' ||
    have.httpHealthCheck?.port !== httpHealthCheck.port ||
    have.httpHealthCheck?.requestPath !== httpHealthCheck.requestPath;
  const change = {
    ...(probeDiffers ? { type: 'HTTP', httpHealthCheck } : {}),
    // A release left cloud-provider-gcp's description: taking it back puts kube-lbc's back.
    ...(have.description !== d.description ? { description: d.description } : {}),
  };
  if (Object.keys(change).length > 0) {
    await calls.write('regionHealthChecks.patch', { region }, (requestId) =>
      healthChecks.patch({
        project,
        region,
        healthCheck: name,
        requestId,
        healthCheckResource: change,
      }),
    );
  }
}

function backendsOf(groups: readonly string[]) {
  return [...groups].sort().map((group) => ({ group, balancingMode: 'CONNECTION' }));
}

async function ensureBackendService(
  env: GcpEnv,
  d: Desired,
  bs: BackendService | undefined,
  groups: readonly string[],
): Promise<void> {
  const { calls, project, region } = env;
  const scheme = d.settings.internal ? 'INTERNAL' : 'EXTERNAL';
  const hc = regionPath(env, 'healthChecks', d.names.healthCheck);
  if (bs && bs.loadBalancingScheme !== scheme) {
    // The scheme is fixed at creation; no rule points here any more (they changed scheme too).
    await calls.remove('regionBackendServices.delete', { region }, (requestId) =>
      calls.clients.backendServices.delete({
        project,
        region,
        backendService: d.names.backendService,
        requestId,
      }),
    );
    bs = undefined;
  }
  if (!bs) {
    await calls.write('regionBackendServices.insert', { region }, (requestId) =>
      calls.clients.backendServices.insert({
        project,
        region,
        requestId,
        backendServiceResource: {
          name: d.names.backendService,
          description: d.description,
          protocol: d.backendProtocol,
          loadBalancingScheme: scheme,
          healthChecks: [hc],
          backends: backendsOf(groups),
          sessionAffinity: d.sessionAffinity,
          ...(d.settings.internal ? { network: networkPath(env) } : {}),
        },
      }),
    );
    return;
  }
  const change: BackendService = {};
  if (bs.protocol !== d.backendProtocol) change.protocol = d.backendProtocol;
  if ((bs.sessionAffinity ?? 'NONE') !== d.sessionAffinity)
    change.sessionAffinity = d.sessionAffinity;
  if (!sameSet((bs.healthChecks ?? []).map(rel), [rel(hc)])) change.healthChecks = [hc];
  if (
    !sameSet(
      (bs.backends ?? []).map((b) => rel(b.group)),
      groups.map(rel),
    )
  )
    change.backends = backendsOf(groups);
  if (bs.description !== d.description) change.description = d.description;
  if (Object.keys(change).length > 0) await patchBackendService(env, bs, change);
}

/** A patch carrying the fingerprint read: if another writer got in between, GCE answers 412. */
export async function patchBackendService(
  env: GcpEnv,
  bs: BackendService,
  change: BackendService,
): Promise<void> {
  const { calls, project, region } = env;
  await calls.write('regionBackendServices.patch', { region }, (requestId) =>
    calls.clients.backendServices.patch({
      project,
      region,
      backendService: bs.name!,
      requestId,
      backendServiceResource: { ...change, fingerprint: bs.fingerprint ?? null },
    }),
  );
}

function ruleMatches(env: GcpEnv, d: Desired, want: DesiredRule, have: Rule, ip: string): boolean {
  const scheme = d.settings.internal ? 'INTERNAL' : 'EXTERNAL';
  return (
    have.IPAddress === ip &&
    have.IPProtocol === want.IPProtocol &&
    sameSet(have.ports ?? [], want.ports ?? []) &&
    (have.portRange || undefined) === want.portRange &&
    Boolean(have.allPorts) === Boolean(want.allPorts) &&
    rel(have.backendService) === rel(regionPath(env, 'backendServices', d.names.backendService)) &&
    have.loadBalancingScheme === scheme &&
    (d.settings.internal
      ? rel(have.subnetwork) === rel(subnetworkPath(env, d.settings.subnet))
      : (have.networkTier ?? 'PREMIUM') === d.settings.networkTier)
  );
}

async function insertRule(env: GcpEnv, d: Desired, want: DesiredRule, ip: string): Promise<void> {
  const { calls, project, region } = env;
  const internal = d.settings.internal;
  await calls.write('forwardingRules.insert', { region }, (requestId) =>
    calls.clients.forwardingRules.insert({
      project,
      region,
      requestId,
      forwardingRuleResource: {
        name: want.name,
        description: d.description,
        IPAddress: ip,
        IPProtocol: want.IPProtocol,
        ...(want.ports ? { ports: [...want.ports] } : {}),
        ...(want.portRange ? { portRange: want.portRange } : {}),
        ...(want.allPorts ? { allPorts: true } : {}),
        backendService: regionPath(env, 'backendServices', d.names.backendService),
        loadBalancingScheme: internal ? 'INTERNAL' : 'EXTERNAL',
        ...(internal
          ? {
              network: networkPath(env),
              subnetwork: subnetworkPath(env, d.settings.subnet),
              ...(d.settings.globalAccess ? { allowGlobalAccess: true } : {}),
            }
          : { networkTier: d.settings.networkTier }),
      },
    }),
  );
}
