/** Global VPC firewall rules. */
import {
  checkCidrs,
  checkQuota,
  oneOf,
  optionalString,
  stringList,
  type Collection,
} from '../collection.js';
import { invalidField, required } from '../errors.js';
import type { ComputeState, Resource, Scope } from '../state.js';

export const firewalls: Collection = {
  name: 'firewalls',
  scope: 'global',
  kind: 'compute#firewall',
  create(state, scope, body, base) {
    checkQuota(state, scope, 'firewalls', state.quotas.get('firewalls'), 'FIREWALLS');
    const network = state.resolve(
      optionalString(body, 'network') ?? 'global/networks/default',
      'networks',
    ).link;
    const item: Resource = {
      ...base,
      network,
      direction: oneOf(body, 'direction', ['INGRESS', 'EGRESS'] as const, 'INGRESS'),
      priority: typeof body.priority === 'number' ? body.priority : 1000,
      disabled: body.disabled === true,
    };
    return check(state, scope, Object.assign(item, pick(body)));
  },
  patchable: [
    'description',
    'sourceRanges',
    'destinationRanges',
    'targetTags',
    'sourceTags',
    'allowed',
    'priority',
    'disabled',
  ],
  checkPatched: (state, scope, item) => void check(state, scope, item),
};

function pick(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['sourceRanges', 'destinationRanges', 'targetTags', 'sourceTags', 'allowed']) {
    if (body[key] !== undefined) out[key] = body[key];
  }
  return out;
}

function check(_state: ComputeState, _scope: Scope, item: Resource): Resource {
  checkCidrs('resource.sourceRanges', stringList(item, 'sourceRanges'));
  checkCidrs('resource.destinationRanges', stringList(item, 'destinationRanges'));
  stringList(item, 'targetTags');
  const allowed = item.allowed;
  if (!Array.isArray(allowed) || allowed.length === 0) throw required('resource.allowed');
  allowed.forEach((rule: Record<string, unknown>, i) => {
    const protocol = String(rule.IPProtocol ?? '');
    if (!['tcp', 'udp', 'icmp', 'sctp', 'all'].includes(protocol)) {
      throw invalidField(
        `resource.allowed[${i}].IPProtocol`,
        protocol,
        'Must be tcp, udp, icmp, sctp or all.',
      );
    }
    for (const port of stringList(rule, 'ports')) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(port);
      if (
        !m ||
        Number(m[1]) < 1 ||
        Number(m[2] ?? m[1]) > 65535 ||
        Number(m[2] ?? m[1]) < Number(m[1])
      ) {
        throw invalidField(`resource.allowed[${i}].ports`, port, 'Must be a port or a port range.');
      }
    }
  });
  return item;
}
