/**
 * The backend-service passthrough load balancer: regional health checks, regional backend
 * services over instance groups, and forwarding rules pointing at a backend service.
 */
import { checkQuota, oneOf, optionalString, stringList, type Collection } from '../collection.js';
import { invalidField, required } from '../errors.js';
import type { ComputeState, Resource, Scope } from '../state.js';
import { insertLabels, setLabels } from '../labels.js';
import { addresses } from './addresses.js';

const healthCheckFields = [
  'type',
  'checkIntervalSec',
  'timeoutSec',
  'healthyThreshold',
  'unhealthyThreshold',
  'httpHealthCheck',
  'tcpHealthCheck',
  'httpsHealthCheck',
];
const backendServiceFields = [
  'protocol',
  'loadBalancingScheme',
  'healthChecks',
  'backends',
  'sessionAffinity',
  'network',
  'connectionDraining',
  'timeoutSec',
];
const forwardingRuleFields = [
  'IPAddress',
  'IPProtocol',
  'ports',
  'portRange',
  'allPorts',
  'backendService',
  'loadBalancingScheme',
  'networkTier',
  'allowGlobalAccess',
  'network',
  'subnetwork',
];
const probeTypes = ['TCP', 'HTTP', 'HTTPS', 'SSL', 'HTTP2', 'GRPC'] as const;

export const healthChecks: Collection = {
  name: 'healthChecks',
  scope: 'regions',
  kind: 'compute#healthCheck',
  create(state, scope, body, base) {
    checkQuota(state, scope, 'healthChecks', state.quotas.get('healthChecks'), 'HEALTH_CHECKS');
    return checkHealthCheck({ ...base, ...defaults, ...pick(body, healthCheckFields) });
  },
  patchable: ['description', ...healthCheckFields],
  checkPatched: (_state, _scope, item) => void checkHealthCheck(item),
};

const defaults = { checkIntervalSec: 5, timeoutSec: 5, healthyThreshold: 2, unhealthyThreshold: 2 };

function checkHealthCheck(item: Resource): Resource {
  const type = oneOf(item, 'type', probeTypes);
  const probe = item[`${type.toLowerCase()}HealthCheck`] as Record<string, unknown> | undefined;
  const port = probe?.port;
  if (port !== undefined && (typeof port !== 'number' || port < 1 || port > 65535)) {
    throw invalidField(
      `resource.${type.toLowerCase()}HealthCheck.port`,
      port,
      'Must be from 1 to 65535.',
    );
  }
  if (Number(item.timeoutSec) > Number(item.checkIntervalSec)) {
    throw invalidField(
      'resource.timeoutSec',
      item.timeoutSec,
      'Must not be greater than checkIntervalSec.',
    );
  }
  return item;
}

export const backendServices: Collection = {
  name: 'backendServices',
  scope: 'regions',
  kind: 'compute#backendService',
  fingerprinted: true,
  create(state, scope, body, base) {
    checkQuota(
      state,
      scope,
      'backendServices',
      state.quotas.get('backendServices'),
      'REGION_BACKEND_SERVICES',
    );
    return checkBackendService(state, scope, {
      ...base,
      sessionAffinity: 'NONE',
      ...pick(body, backendServiceFields),
    });
  },
  patchable: ['description', ...backendServiceFields],
  checkPatched: (state, scope, item) => void checkBackendService(state, scope, item),
  refs: (_state, _scope, item) => [
    ...stringList(item, 'healthChecks'),
    ...((item.backends as { group: string }[] | undefined) ?? []).map((b) => b.group),
  ],
};

function checkBackendService(state: ComputeState, scope: Scope, item: Resource): Resource {
  oneOf(item, 'protocol', ['TCP', 'UDP', 'SCTP', 'UNSPECIFIED'] as const);
  const scheme = oneOf(item, 'loadBalancingScheme', ['EXTERNAL', 'INTERNAL'] as const);
  oneOf(item, 'sessionAffinity', [
    'NONE',
    'CLIENT_IP',
    'CLIENT_IP_PROTO',
    'CLIENT_IP_PORT_PROTO',
  ] as const);
  const checks = stringList(item, 'healthChecks');
  if (checks.length !== 1)
    throw invalidField(
      'resource.healthChecks',
      checks,
      'A regional backend service takes exactly one health check.',
    );
  item.healthChecks = checks.map((ref) => state.resolve(ref, 'healthChecks', scope).link);
  if (scheme === 'INTERNAL') {
    item.network = state.resolve(
      optionalString(item, 'network') ?? 'global/networks/default',
      'networks',
    ).link;
  } else if (item.network !== undefined) {
    throw invalidField(
      'resource.network',
      item.network,
      'Only an INTERNAL backend service names a network.',
    );
  }
  const backends = (item.backends ?? []) as Record<string, unknown>[];
  if (!Array.isArray(backends))
    throw invalidField('resource.backends', backends, 'Must be a list.');
  const seen = new Set<string>();
  item.backends = backends.map((b, i) => {
    const ref = typeof b.group === 'string' ? b.group : '';
    if (!ref) throw required(`resource.backends[${i}].group`);
    const group = state.resolve(ref, 'instanceGroups').link;
    if (seen.has(group))
      throw invalidField(`resource.backends[${i}].group`, ref, 'Duplicate backend group.');
    seen.add(group);
    return {
      balancingMode: oneOf(b, 'balancingMode', ['CONNECTION'] as const, 'CONNECTION'),
      group,
    };
  });
  return item;
}

export const forwardingRules: Collection = {
  name: 'forwardingRules',
  scope: 'regions',
  kind: 'compute#forwardingRule',
  fingerprinted: true,
  create(state, scope, body, base) {
    checkQuota(
      state,
      scope,
      'forwardingRules',
      state.quotas.get('forwardingRules'),
      'FORWARDING_RULES',
    );
    const item: Resource = {
      ...base,
      ...pick(body, forwardingRuleFields),
      ...insertLabels(state, body),
    };
    const protocol = oneOf(item, 'IPProtocol', ['TCP', 'UDP', 'L3_DEFAULT'] as const, 'TCP');
    const scheme = oneOf(
      item,
      'loadBalancingScheme',
      ['EXTERNAL', 'INTERNAL'] as const,
      'EXTERNAL',
    );
    const ports = stringList(item, 'ports');
    if (ports.length > 5)
      throw invalidField('resource.ports', ports, 'At most 5 ports; use portRange for more.');
    const given = [ports.length > 0, item.portRange !== undefined, item.allPorts === true].filter(
      Boolean,
    ).length;
    if (given > 1)
      throw invalidField(
        'resource.ports',
        ports,
        'Only one of ports, portRange and allPorts may be set.',
      );
    if (protocol === 'L3_DEFAULT' && item.allPorts !== true) {
      throw invalidField(
        'resource.allPorts',
        item.allPorts ?? false,
        'L3_DEFAULT forwarding rules must set allPorts.',
      );
    }
    if (item.portRange !== undefined && !/^\d+-\d+$/.test(String(item.portRange))) {
      throw invalidField('resource.portRange', item.portRange, "Must be of the form 'low-high'.");
    }
    const bs = state.resolve(requiredRef(item, 'backendService'), 'backendServices', scope);
    item.backendService = bs.link;
    const target = state.get(bs.scope, 'backendServices', bs.name)!;
    if (target.loadBalancingScheme !== scheme) {
      throw invalidField(
        'resource.loadBalancingScheme',
        scheme,
        `Must match the backend service's ${String(target.loadBalancingScheme)}.`,
      );
    }
    const want = protocol === 'L3_DEFAULT' ? 'UNSPECIFIED' : protocol;
    if (target.protocol !== want) {
      throw invalidField(
        'resource.IPProtocol',
        protocol,
        `The backend service's protocol ${String(target.protocol)} needs an IPProtocol of ${target.protocol === 'UNSPECIFIED' ? 'L3_DEFAULT' : String(target.protocol)}.`,
      );
    }
    if (scheme === 'EXTERNAL') {
      item.networkTier = oneOf(item, 'networkTier', ['PREMIUM', 'STANDARD'] as const, 'PREMIUM');
      if (item.allowGlobalAccess !== undefined)
        throw invalidField(
          'resource.allowGlobalAccess',
          item.allowGlobalAccess,
          'Only INTERNAL forwarding rules allow global access.',
        );
    } else {
      item.network = state.resolve(
        optionalString(item, 'network') ?? 'global/networks/default',
        'networks',
      ).link;
      item.subnetwork = state.resolve(
        optionalString(item, 'subnetwork') ?? 'default',
        'subnetworks',
        scope,
      ).link;
    }
    item.IPAddress = address(state, scope, item);
    return item;
  },
  // GCE patches a forwarding rule's networkTier and global access only: not its description.
  patchable: ['allowGlobalAccess'],
  verbs: { setLabels },
  refs(state, scope, item) {
    const addr = state.list(scope, 'addresses').find((a) => a.address === item.IPAddress);
    return [String(item.backendService), ...(addr ? [addr.selfLink] : [])];
  },
};

function requiredRef(item: Resource, key: string): string {
  const v = item[key];
  if (typeof v !== 'string' || v === '') throw required(`resource.${key}`);
  return v;
}

/** An IP, or an address reference; a reserved address must match the rule's tier and type. */
function address(state: ComputeState, scope: Scope, item: Resource): string {
  const given = optionalString(item, 'IPAddress');
  const external = item.loadBalancingScheme === 'EXTERNAL';
  if (given === undefined) {
    // An ephemeral address: the lowest free one the pool would give.
    const ephemeral = addresses.create(
      state,
      scope,
      external
        ? { networkTier: item.networkTier }
        : { addressType: 'INTERNAL', subnetwork: item.subnetwork },
      { name: 'ephemeral', id: '', selfLink: '' },
    );
    return String(ephemeral.address);
  }
  const byRef = /\//.test(given) ? state.resolve(given, 'addresses', scope) : undefined;
  const reserved = byRef
    ? state.get(byRef.scope, 'addresses', byRef.name)
    : state.list(scope, 'addresses').find((a) => a.address === given);
  if (!reserved) {
    if (byRef) throw invalidField('resource.IPAddress', given, 'The address was not found.');
    throw invalidField(
      'resource.IPAddress',
      given,
      'The IP address is not reserved in this region.',
    );
  }
  if ((reserved.addressType === 'EXTERNAL') !== external) {
    throw invalidField(
      'resource.IPAddress',
      given,
      `An ${String(item.loadBalancingScheme)} forwarding rule needs an ${external ? 'EXTERNAL' : 'INTERNAL'} address.`,
    );
  }
  if (external && reserved.networkTier !== item.networkTier) {
    throw invalidField(
      'resource.networkTier',
      item.networkTier,
      `The address is in the ${String(reserved.networkTier)} tier.`,
    );
  }
  return String(reserved.address);
}

function pick(body: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (body[key] !== undefined && body[key] !== null) out[key] = body[key];
  return out;
}
