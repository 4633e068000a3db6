/**
 * The resources served, one row each: what discovery lists and what the router dispatches on.
 */
import type { IPAllocator, PortAllocator } from './allocators.js';
import { metaSmp } from './smp.js';
import { endpointSliceStrategy } from './strategies/endpointslice.js';
import { eventsV1Conversion, eventStrategy } from './strategies/event.js';
import { leaseStrategy } from './strategies/lease.js';
import { namespaceStrategy } from './strategies/namespace.js';
import { nodeStrategy } from './strategies/node.js';
import { serviceStrategy } from './strategies/service.js';
import type { ResourceType, Verb } from './types.js';

const ALL_VERBS: Verb[] = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

/** Events are stored once and served by two groups (see strategies/event.ts). */
const EVENTS = {
  version: 'v1',
  resource: 'events',
  singular: 'event',
  kind: 'Event',
  namespaced: true,
  shortNames: ['ev'],
  subresources: [],
  verbs: ALL_VERBS,
  smp: metaSmp,
  storageKey: 'events',
} satisfies Partial<ResourceType>;

export function createRegistry(ports: PortAllocator, ips: IPAllocator): ResourceType[] {
  return [
    {
      group: '',
      version: 'v1',
      resource: 'namespaces',
      singular: 'namespace',
      kind: 'Namespace',
      namespaced: false,
      shortNames: ['ns'],
      subresources: ['status'],
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      strategy: namespaceStrategy,
      smp: { ...metaSmp, 'status.conditions': { key: 'type' } },
      returnDeletedObject: true,
    },
    {
      group: '',
      version: 'v1',
      resource: 'nodes',
      singular: 'node',
      kind: 'Node',
      namespaced: false,
      shortNames: ['no'],
      subresources: ['status'],
      verbs: ALL_VERBS,
      strategy: nodeStrategy,
      smp: {
        ...metaSmp,
        'spec.podCIDRs': {},
        'status.conditions': { key: 'type' },
        'status.addresses': { key: 'type' },
      },
    },
    {
      group: '',
      version: 'v1',
      resource: 'services',
      singular: 'service',
      kind: 'Service',
      namespaced: true,
      shortNames: ['svc'],
      categories: ['all'],
      subresources: ['status'],
      verbs: ALL_VERBS,
      strategy: serviceStrategy(ports, ips),
      smp: { ...metaSmp, 'spec.ports': { key: 'port' }, 'status.conditions': { key: 'type' } },
      returnDeletedObject: true,
    },
    { ...EVENTS, group: '', strategy: eventStrategy('v1') },
    {
      ...EVENTS,
      group: 'events.k8s.io',
      strategy: eventStrategy('events.k8s.io/v1'),
      internalGroup: '',
      conversion: eventsV1Conversion,
    },
    {
      group: 'coordination.k8s.io',
      version: 'v1',
      resource: 'leases',
      singular: 'lease',
      kind: 'Lease',
      namespaced: true,
      subresources: [],
      verbs: ALL_VERBS,
      strategy: leaseStrategy,
      smp: metaSmp,
    },
    {
      group: 'discovery.k8s.io',
      version: 'v1',
      resource: 'endpointslices',
      singular: 'endpointslice',
      kind: 'EndpointSlice',
      namespaced: true,
      subresources: [],
      verbs: ALL_VERBS,
      strategy: endpointSliceStrategy,
      smp: metaSmp,
    },
  ];
}
