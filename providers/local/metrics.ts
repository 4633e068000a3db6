/**
 * The local provider's data-path metrics, as plain families (`contract/metrics.ts`): connections,
 * bytes, refusals and backend health per listener, and the address pool's use. The controller
 * serves them in in-process mode, `kube-lbc proxy` on each edge node.
 */
import type { MetricFamily } from '../../contract/metrics.js';
import type { AddressPool } from './address-pool.js';
import type { DataPath } from './data-path.js';

const LISTENER = ['service', 'listener'];

export function dataPathMetrics(dataPath: DataPath | undefined): MetricFamily[] {
  const stats = dataPath?.stats() ?? [];
  const per = (value: (s: (typeof stats)[number]) => number) =>
    stats.map((s) => ({ labels: { service: s.service, listener: s.listener }, value: value(s) }));
  return [
    {
      name: 'kube_lbc_local_connections',
      help: 'Open connections (TCP) or flows (UDP) through each listener.',
      type: 'gauge',
      labelNames: LISTENER,
      samples: per((s) => s.active),
    },
    {
      name: 'kube_lbc_local_connections_total',
      help: 'Connections (TCP) or flows (UDP) each listener admitted.',
      type: 'counter',
      labelNames: LISTENER,
      samples: per((s) => s.opened),
    },
    {
      name: 'kube_lbc_local_connections_rejected_total',
      help: 'Connections or flows refused: reason source-range, no-backend or limit.',
      type: 'counter',
      labelNames: [...LISTENER, 'reason'],
      samples: stats.flatMap((s) =>
        Object.entries(s.rejected).map(([reason, value]) => ({
          labels: { service: s.service, listener: s.listener, reason },
          value,
        })),
      ),
    },
    {
      name: 'kube_lbc_local_bytes_total',
      help: 'Bytes through each listener: direction in (from clients) or out (to clients).',
      type: 'counter',
      labelNames: [...LISTENER, 'direction'],
      samples: stats.flatMap((s) => [
        { labels: { service: s.service, listener: s.listener, direction: 'in' }, value: s.bytesIn },
        {
          labels: { service: s.service, listener: s.listener, direction: 'out' },
          value: s.bytesOut,
        },
      ]),
    },
    {
      name: 'kube_lbc_local_backend_healthy',
      help: 'Whether each backend (node:NodePort) of a listener takes new connections (1) or not (0).',
      type: 'gauge',
      labelNames: [...LISTENER, 'backend'],
      samples: stats.flatMap((s) =>
        s.backends.map((b) => ({
          labels: { service: s.service, listener: s.listener, backend: b.id },
          value: b.healthy ? 1 : 0,
        })),
      ),
    },
  ];
}

export function poolMetrics(pool: AddressPool): MetricFamily[] {
  return [
    {
      name: 'kube_lbc_local_pool_addresses',
      help: 'Addresses of the pool: state total or allocated.',
      type: 'gauge',
      labelNames: ['state'],
      samples: [
        { labels: { state: 'total' }, value: pool.size },
        { labels: { state: 'allocated' }, value: pool.allocated },
      ],
    },
  ];
}
