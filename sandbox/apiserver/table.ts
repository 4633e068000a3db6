/**
 * Server-side printing (`meta.k8s.io/v1` Table), which `kubectl get` asks for: the columns the
 * real printers (pkg/printers/internalversion) give Services, Nodes and core/v1 Events, and
 * Name / Created At for the rest. The server prints wide: `-o wide` only shows the priority-1
 * columns.
 */
import type { KObject, ResourceType } from './types.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
}

export const wantsTable = (accept: string | undefined) => (accept ?? '').includes('as=Table');

/** duration.HumanDuration from apimachinery: `45s`, `3m20s`, `5h10m`, `3d4h`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  const days = Math.floor(hours / 24) % 365;
  return hours < 24 * 365 * 8 && days !== 0 ? `${years}y${days}d` : `${years}y`;
}

const age = (obj: KObject) =>
  obj.metadata.creationTimestamp
    ? humanDuration(Date.now() - Date.parse(obj.metadata.creationTimestamp))
    : '<unknown>';
const NAME: Column = { name: 'Name', type: 'string', format: 'name' };
const AGE: Column = { name: 'Age', type: 'string' };

function serviceRow(svc: KObject): unknown[] {
  const spec = svc.spec ?? {};
  const ingress = (svc.status?.loadBalancer?.ingress ?? [])
    .map((i: any) => i.ip || i.hostname)
    .filter(Boolean);
  const externalIPs: string[] = spec.externalIPs ?? [];
  let external: string;
  switch (spec.type) {
    case 'LoadBalancer':
      external = [...ingress, ...externalIPs].join(',') || '<pending>';
      break;
    case 'ExternalName':
      external = spec.externalName ?? '<none>';
      break;
    default:
      external = externalIPs.join(',') || '<none>';
  }
  const ports =
    (spec.ports ?? [])
      .map((p: any) =>
        p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`,
      )
      .join(',') || '<none>';
  const selector =
    Object.entries(spec.selector ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '<none>';
  return [
    svc.metadata.name,
    spec.type,
    spec.clusterIP || '<none>',
    external,
    ports,
    age(svc),
    selector,
  ];
}

function nodeRow(node: KObject): unknown[] {
  const ready = (node.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
  let status =
    ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
  if (node.spec?.unschedulable) status += ',SchedulingDisabled';
  const labels: Record<string, string> = node.metadata.labels ?? {};
  const roles = Object.keys(labels)
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .concat(labels['kubernetes.io/role'] ? [labels['kubernetes.io/role']] : [])
    .join(',');
  const address = (type: string) =>
    (node.status?.addresses ?? []).find((a: any) => a.type === type)?.address ?? '<none>';
  const info = node.status?.nodeInfo ?? {};
  return [
    node.metadata.name,
    status,
    roles || '<none>',
    age(node),
    info.kubeletVersion ?? '',
    address('InternalIP'),
    address('ExternalIP'),
    info.osImage ?? '<unknown>',
    info.kernelVersion ?? '<unknown>',
    info.containerRuntimeVersion ?? '<unknown>',
  ];
}

const since = (timestamp: string | undefined) =>
  timestamp ? humanDuration(Date.now() - Date.parse(timestamp)) : '<unknown>';

/** printEvent: series or lastTimestamp, else the first time; `kind/name` of the object. */
function eventRow(ev: KObject): unknown[] {
  const first = ev.firstTimestamp ? since(ev.firstTimestamp) : since(ev.eventTime);
  let last = ev.lastTimestamp ? since(ev.lastTimestamp) : first;
  let count = ev.count || 1;
  if (ev.series) {
    last = since(ev.series.lastObservedTime);
    count = ev.series.count;
  }
  const involved = ev.involvedObject ?? {};
  const kind = String(involved.kind ?? '').toLowerCase();
  const component = ev.source?.component || ev.reportingComponent || '';
  const instance = ev.source?.host || ev.reportingInstance || '';
  return [
    last,
    ev.type,
    ev.reason,
    involved.name ? `${kind}/${involved.name}` : kind,
    involved.fieldPath ?? '',
    instance ? `${component}, ${instance}` : component,
    String(ev.message ?? '').trim(),
    first,
    count,
    ev.metadata.name,
  ];
}

const PRINTERS: Record<string, { columns: Column[]; row: (obj: KObject) => unknown[] }> = {
  '/services': {
    columns: [
      NAME,
      { name: 'Type', type: 'string' },
      { name: 'Cluster-IP', type: 'string' },
      { name: 'External-IP', type: 'string' },
      { name: 'Port(s)', type: 'string' },
      AGE,
      { name: 'Selector', type: 'string', priority: 1 },
    ],
    row: serviceRow,
  },
  '/nodes': {
    columns: [
      NAME,
      { name: 'Status', type: 'string' },
      { name: 'Roles', type: 'string' },
      AGE,
      { name: 'Version', type: 'string' },
      { name: 'Internal-IP', type: 'string', priority: 1 },
      { name: 'External-IP', type: 'string', priority: 1 },
      { name: 'OS-Image', type: 'string', priority: 1 },
      { name: 'Kernel-Version', type: 'string', priority: 1 },
      { name: 'Container-Runtime', type: 'string', priority: 1 },
    ],
    row: nodeRow,
  },
  '/events': {
    columns: [
      { name: 'Last Seen', type: 'string' },
      { name: 'Type', type: 'string' },
      { name: 'Reason', type: 'string' },
      { name: 'Object', type: 'string' },
      { name: 'Subobject', type: 'string', priority: 1 },
      { name: 'Source', type: 'string', priority: 1 },
      { name: 'Message', type: 'string' },
      { name: 'First Seen', type: 'string', priority: 1 },
      { name: 'Count', type: 'string', priority: 1 },
      { ...NAME, priority: 1 },
    ],
    row: eventRow,
  },
};

const DEFAULT_PRINTER = {
  columns: [NAME, { name: 'Created At', type: 'date' }],
  row: (o: KObject) => [o.metadata.name, o.metadata.creationTimestamp],
};

/** One object or a list (as the REST layer answers) as a Table. */
export function toTable(rt: ResourceType, body: any): unknown {
  if (body?.kind === 'Status') return body;
  const printer = PRINTERS[`${rt.group}/${rt.resource}`] ?? DEFAULT_PRINTER;
  const items: KObject[] = Array.isArray(body.items) ? body.items : [body];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: body.metadata?.resourceVersion ?? '' },
    columnDefinitions: printer.columns.map((c) => ({
      priority: 0,
      description: '',
      format: '',
      ...c,
    })),
    rows: items.map((obj) => ({
      cells: printer.row(obj),
      object: {
        kind: 'PartialObjectMetadata',
        apiVersion: 'meta.k8s.io/v1',
        metadata: obj.metadata,
      },
    })),
  };
}
