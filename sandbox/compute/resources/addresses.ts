/** Regional static addresses: external (a tier's pool) or internal (from a subnetwork). */
import { checkQuota, oneOf, optionalString, type Collection } from '../collection.js';
import { alreadyExists, invalidField } from '../errors.js';
import { insertLabels, setLabels } from '../labels.js';
import type { ComputeState, Resource, Scope } from '../state.js';

/** External addresses come from TEST-NET-3, internal ones from the subnetwork's range. */
const externalPool = { base: [203, 0, 113], first: 10 };

export const addresses: Collection = {
  name: 'addresses',
  scope: 'regions',
  kind: 'compute#address',
  create(state, scope, body, base) {
    checkQuota(state, scope, 'addresses', state.quotas.get('addresses'), 'STATIC_ADDRESSES');
    const addressType = oneOf(body, 'addressType', ['EXTERNAL', 'INTERNAL'] as const, 'EXTERNAL');
    const item: Resource = {
      ...base,
      addressType,
      ipVersion: 'IPV4',
      ...insertLabels(state, body),
    };
    if (addressType === 'EXTERNAL') {
      item.networkTier = oneOf(body, 'networkTier', ['PREMIUM', 'STANDARD'] as const, 'PREMIUM');
      if (body.subnetwork)
        throw invalidField(
          'resource.subnetwork',
          body.subnetwork,
          'An external address has no subnetwork.',
        );
    } else {
      const subnet = state.resolve(
        optionalString(body, 'subnetwork') ?? 'default',
        'subnetworks',
        scope,
      );
      item.subnetwork = subnet.link;
      item.purpose = optionalString(body, 'purpose') ?? 'GCE_ENDPOINT';
    }
    const requested = optionalString(body, 'address');
    if (requested !== undefined) {
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(requested)) {
        throw invalidField('resource.address', requested, 'Must be an IPv4 address.');
      }
      const taken = state.list(scope, 'addresses').find((a) => a.address === requested);
      if (taken) throw alreadyExists(`IP '${requested}' (used by ${taken.name})`);
    }
    item.address = requested ?? allocate(state, scope, item);
    return item;
  },
  view(state, scope, item) {
    const users = state
      .list(scope, 'forwardingRules')
      .filter((fr) => fr.IPAddress === item.address)
      .map((fr) => fr.selfLink);
    return { ...item, status: users.length > 0 ? 'IN_USE' : 'RESERVED', users };
  },
  // No patch: an address's description and everything else but its labels are fixed at insert.
  verbs: { setLabels },
};

/** The lowest free address of the pool: deterministic, so two clean runs allocate alike. */
function allocate(state: ComputeState, scope: Scope, item: Resource): string {
  const used = new Set(
    [...state.list(scope, 'addresses'), ...state.list(scope, 'forwardingRules')].map((a) =>
      String(a.address ?? a.IPAddress),
    ),
  );
  const [a, b, c, first] =
    item.addressType === 'EXTERNAL'
      ? [...externalPool.base, externalPool.first]
      : [...subnetBase(state, String(item.subnetwork)), 100];
  for (let i = first!; i < 255; i++) {
    const ip = `${a}.${b}.${c}.${i}`;
    if (!used.has(ip)) return ip;
  }
  throw invalidField('resource.address', '', 'The address pool of the emulator is exhausted.');
}

function subnetBase(state: ComputeState, link: string): number[] {
  const ref = state.parseRef(link, 'subnetworks');
  const range = ref ? String(state.get(ref.scope, 'subnetworks', ref.name)?.ipCidrRange ?? '') : '';
  const octets = range.split('/')[0]!.split('.').map(Number);
  return octets.length === 4 ? octets.slice(0, 3) : [10, 128, 0];
}
