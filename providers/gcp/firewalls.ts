/**
 * The two VPC firewall rules of a Service, on the nodes' network tags: clients (the Service's
 * `loadBalancerSourceRanges`, default 0.0.0.0/0) to the Service ports at the load balancer's IP
 * (passthrough: packets keep that destination), and Google's health-check probers to the
 * health-check port.
 */
import type { protos } from '@google-cloud/compute';
import type { CallContext } from '../../contract/provider.js';
import { healthCheckRanges, type Desired, type NodeInstance } from './desired.js';
import { networkPath, sameSet, type GcpEnv } from './env.js';

type Firewall = protos.google.cloud.compute.v1.IFirewall;

export async function ensureFirewalls(
  env: GcpEnv,
  ctx: CallContext,
  d: Desired,
  ip: string,
  instances: readonly NodeInstance[],
): Promise<void> {
  const tags = await nodeTags(env, instances);
  if (tags.length === 0) {
    ctx.recordEvent(
      'Warning',
      'NoNodeTags',
      'No network tags for the nodes (set nodeTags in the cloud-config): no firewall rules were made; open the Service ports to the nodes by hand',
    );
    return;
  }
  const rules: Firewall[] = [
    {
      name: d.names.firewall,
      description: d.description,
      network: networkPath(env),
      direction: 'INGRESS',
      priority: 1000,
      sourceRanges: [...d.sourceRanges],
      destinationRanges: [`${ip}/32`],
      targetTags: tags,
      allowed: d.allowed.map((a) => ({ IPProtocol: a.IPProtocol, ports: [...a.ports] })),
    },
    {
      name: d.names.healthCheckFirewall,
      description: d.description,
      network: networkPath(env),
      direction: 'INGRESS',
      priority: 1000,
      sourceRanges: [
        ...(d.settings.internal ? healthCheckRanges.internal : healthCheckRanges.external),
      ],
      targetTags: tags,
      allowed: [{ IPProtocol: 'tcp', ports: [String(d.healthCheck.port)] }],
    },
  ];
  for (const want of rules) {
    ctx.signal.throwIfAborted();
    await ensureFirewall(env, want);
  }
}

async function ensureFirewall(env: GcpEnv, want: Firewall): Promise<void> {
  const { calls, project } = env;
  const { firewalls } = calls.clients;
  const have = await calls.get('firewalls.get', () =>
    firewalls.get({ project, firewall: want.name! }),
  );
  if (!have) {
    await calls.write('firewalls.insert', 'global', (requestId) =>
      firewalls.insert({ project, requestId, firewallResource: want }),
    );
    return;
  }
  const same =
    sameSet(have.sourceRanges ?? [], want.sourceRanges ?? []) &&
    sameSet(have.destinationRanges ?? [], want.destinationRanges ?? []) &&
    sameSet(have.targetTags ?? [], want.targetTags ?? []) &&
    sameSet(allowedKeys(have), allowedKeys(want)) &&
    have.description === want.description;
  if (same) return;
  const { name: _name, network: _network, direction: _direction, ...change } = want;
  await calls.write('firewalls.patch', 'global', (requestId) =>
    firewalls.patch({ project, firewall: want.name!, requestId, firewallResource: change }),
  );
}

function allowedKeys(f: Firewall): string[] {
  return (f.allowed ?? []).flatMap((a) =>
    a.ports?.length ? a.ports.map((p) => `${a.IPProtocol}/${p}`) : [`${a.IPProtocol}/*`],
  );
}

/** The configured tags, else those of the first node's instance (as cloud-provider-gcp does). */
async function nodeTags(env: GcpEnv, instances: readonly NodeInstance[]): Promise<string[]> {
  if (env.config.nodeTags) return [...env.config.nodeTags];
  const first = [...instances].sort((a, b) =>
    `${a.zone}/${a.name}`.localeCompare(`${b.zone}/${b.name}`),
  )[0];
  if (!first) return [];
  const instance = await env.calls.get('instances.get', () =>
    env.calls.clients.instances.get({
      project: env.project,
      zone: first.zone,
      instance: first.name,
    }),
  );
  return [...(instance?.tags?.items ?? [])];
}

export async function deleteFirewalls(env: GcpEnv, names: readonly string[]): Promise<void> {
  const { calls, project } = env;
  for (const firewall of names) {
    await calls.remove('firewalls.delete', 'global', (requestId) =>
      calls.clients.firewalls.delete({ project, firewall, requestId }),
    );
  }
}
