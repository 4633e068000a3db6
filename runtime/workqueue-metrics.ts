/**
 * The work queue's metrics, named as client-go's workqueue metrics provider names them so
 * existing dashboards and alerts fit: `workqueue_depth{name}`, `workqueue_adds_total{name}`, ...
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What the work queue reports; `name` is the queue's name (`service`, `node`). */
export interface WorkQueueMetrics {
  /** A key was added (client-go counts every add, including one already queued). */
  add(name: string): void;
  depth(name: string, n: number): void;
  /** Seconds a key waited in the queue before a worker took it. */
  queueLatency(name: string, seconds: number): void;
  /** Seconds a worker spent on a key. */
  workDuration(name: string, seconds: number): void;
  /** A key was re-queued after a failure. */
  retry(name: string): void;
}

/** client-go's buckets: 10 ns to 10 s by factors of ten. */
const durationBuckets = Array.from({ length: 10 }, (_, i) => Number(`1e${i - 8}`));

/** Registers the work-queue metrics in `registry`, or reuses them when already there. */
export function createWorkQueueMetrics(registry: Registry): WorkQueueMetrics {
  const labelNames = ['name'] as const;
  const registers = [registry];
  const depth = reuse(
    registry,
    'workqueue_depth',
    (name) => new Gauge({ name, help: 'Current depth of the work queue.', labelNames, registers }),
  );
  const adds = reuse(
    registry,
    'workqueue_adds_total',
    (name) =>
      new Counter({
        name,
        help: 'Total number of adds handled by the work queue.',
        labelNames,
        registers,
      }),
  );
  const retries = reuse(
    registry,
    'workqueue_retries_total',
    (name) =>
      new Counter({
        name,
        help: 'Total number of retries handled by the work queue.',
        labelNames,
        registers,
      }),
  );
  const latency = reuse(
    registry,
    'workqueue_queue_duration_seconds',
    (name) =>
      new Histogram({
        name,
        help: 'How long in seconds an item stays in the work queue before being requested.',
        labelNames,
        buckets: durationBuckets,
        registers,
      }),
  );
  const work = reuse(
    registry,
    'workqueue_work_duration_seconds',
    (name) =>
      new Histogram({
        name,
        help: 'How long in seconds processing an item from the work queue takes.',
        labelNames,
        buckets: durationBuckets,
        registers,
      }),
  );
  return {
    add: (name) => adds.inc({ name }),
    depth: (name, n) => depth.set({ name }, n),
    queueLatency: (name, seconds) => latency.observe({ name }, seconds),
    workDuration: (name, seconds) => work.observe({ name }, seconds),
    retry: (name) => retries.inc({ name }),
  };
}

/** prom-client refuses a second metric of one name; a second caller gets the first one. */
export function reuse<M>(registry: Registry, name: string, create: (name: string) => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create(name);
}
