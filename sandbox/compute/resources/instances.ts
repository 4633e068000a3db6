/** Seeded VM instances, and zonal unmanaged instance groups holding them. */
import { checkQuota, optionalString, type Collection } from '../collection.js';
import { invalidField, OperationFailure } from '../errors.js';
import type { ComputeState, Resource, Scope } from '../state.js';

/** Instances are seeded by the test (`emulator.seedInstance`); the API only reads them. */
export const instances: Collection = {
  name: 'instances',
  scope: 'zones',
  kind: 'compute#instance',
  readOnly: true,
  create: () => {
    throw invalidField(
      'resource',
      'instance',
      'The emulator does not create instances; seed them.',
    );
  },
};

/** Members are kept as instance selfLinks; `size` follows them. */
export const instanceGroups: Collection = {
  name: 'instanceGroups',
  scope: 'zones',
  kind: 'compute#instanceGroup',
  fingerprinted: true,
  create(state, scope, body, base) {
    checkQuota(
      state,
      scope,
      'instanceGroups',
      state.quotas.get('instanceGroups'),
      'INSTANCE_GROUPS',
    );
    const network = state.resolve(
      optionalString(body, 'network') ?? 'global/networks/default',
      'networks',
    ).link;
    return { ...base, network, size: 0, members: [] as string[] };
  },
  view: (_state, _scope, item) => {
    const { members: _members, ...rest } = item;
    return rest as Resource;
  },
  verbs: {
    addInstances: {
      write: true,
      run(state, scope, item, body) {
        const links = memberLinks(state, scope, body, 'instances');
        const members = item.members as string[];
        for (const link of links) {
          if (members.includes(link)) {
            throw new OperationFailure(
              'MEMBER_ALREADY_EXISTS',
              `The resource '${link}' is already a member of '${item.selfLink}'`,
            );
          }
        }
        item.members = [...members, ...links];
        item.size = (item.members as string[]).length;
        item.fingerprint = state.fingerprint();
      },
    },
    removeInstances: {
      write: true,
      run(state, scope, item, body) {
        const links = memberLinks(state, scope, body, 'instances', true);
        const members = item.members as string[];
        for (const link of links) {
          if (!members.includes(link)) {
            throw new OperationFailure(
              'MEMBER_NOT_FOUND',
              `The resource '${link}' is not a member of '${item.selfLink}'`,
            );
          }
        }
        item.members = members.filter((m) => !links.includes(m));
        item.size = (item.members as string[]).length;
        item.fingerprint = state.fingerprint();
      },
    },
    listInstances: {
      write: false,
      run: (_state, _scope, item) => ({
        read: {
          kind: 'compute#instanceGroupsListInstances',
          items: (item.members as string[]).map((instance) => ({ instance, status: 'RUNNING' })),
        },
      }),
    },
  },
};

/** `{ instances: [{ instance: <ref> }] }`, each an instance of the group's zone. */
function memberLinks(
  state: ComputeState,
  scope: Scope,
  body: Record<string, unknown>,
  key: string,
  mayBeGone = false,
): string[] {
  const list = body[key];
  if (!Array.isArray(list) || list.length === 0)
    throw invalidField(`resource.${key}`, list ?? [], 'Must list at least one instance.');
  return list.map((entry: { instance?: unknown }, i) => {
    const ref = typeof entry?.instance === 'string' ? entry.instance : '';
    const parsed = state.parseRef(ref, 'instances', scope);
    if (!parsed || parsed.scope.kind !== 'zones' || parsed.scope.name !== scope.name) {
      throw invalidField(
        `resource.${key}[${i}].instance`,
        ref,
        `Must be an instance in zone ${scope.name}.`,
      );
    }
    if (!mayBeGone && !state.get(parsed.scope, 'instances', parsed.name)) {
      throw new OperationFailure(
        'RESOURCE_NOT_FOUND',
        `The resource '${state.path(parsed.scope, 'instances', parsed.name)}' was not found`,
        404,
      );
    }
    return state.link(parsed.scope, 'instances', parsed.name);
  });
}
