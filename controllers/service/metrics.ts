/**
 * The service controller's metrics, named as upstream's so existing dashboards fit
 * (`service_controller_loadbalancer_sync_total`, `..._nodesync_latency_seconds`), plus reconcile
 * duration per operation, each Service's time from creation to first ingress, and dropped Events.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export type SyncOperation = 'ensure' | 'update_hosts' | 'delete' | 'noop' | 'invalid';
export type SyncResult = 'success' | 'error' | 'retry_after' | 'invalid';

export interface ServiceMetrics {
  sync(operation: SyncOperation, result: SyncResult, seconds: number): void;
  nodeSync(seconds: number, errors: number): void;
  firstIngress(seconds: number): void;
  eventDropped(): void;
}

export const noopServiceMetrics: ServiceMetrics = {
  sync() {},
  nodeSync() {},
  firstIngress() {},
  eventDropped() {},
};

export function createServiceMetrics(registry: Registry): ServiceMetrics {
  const registers = [registry];
  const syncTotal = new Counter({
    name: 'service_controller_loadbalancer_sync_total',
    help: 'Load balancer syncs, by operation and result.',
    labelNames: ['operation', 'result'],
    registers,
  });
  const syncSeconds = new Histogram({
    name: 'kube_lbc_service_reconcile_duration_seconds',
    help: 'Time to reconcile one Service, by operation and result.',
    labelNames: ['operation', 'result'],
    buckets: [0.005, 0.02, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers,
  });
  const nodeSyncSeconds = new Histogram({
    name: 'service_controller_nodesync_latency_seconds',
    help: 'Time from the first node event of a batch to every load balancer being queued for the new node set.',
    buckets: [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
    registers,
  });
  const nodeSyncErrors = new Counter({
    name: 'service_controller_nodesync_error_total',
    help: 'Host updates that failed during node syncs.',
    registers,
  });
  const firstIngress = new Histogram({
    name: 'kube_lbc_service_time_to_first_ingress_seconds',
    help: 'Time from a Service creation to its first ingress in status.',
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    registers,
  });
  const eventsDropped = new Counter({
    name: 'kube_lbc_events_dropped_total',
    help: 'Events not written because the backlog of Events to write was full.',
    registers,
  });
  return {
    sync(operation, result, seconds) {
      syncTotal.inc({ operation, result });
      syncSeconds.observe({ operation, result }, seconds);
    },
    nodeSync(seconds, errors) {
      nodeSyncSeconds.observe(seconds);
      if (errors) nodeSyncErrors.inc(errors);
    },
    firstIngress(seconds) {
      firstIngress.observe(seconds);
    },
    eventDropped() {
      eventsDropped.inc();
    },
  };
}
