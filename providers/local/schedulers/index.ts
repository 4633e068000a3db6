/** The schedulers by their IPVS names. */
import { HashScheduler } from './hashing.js';
import {
  leastConnections,
  NeverQueue,
  shortestExpectedDelay,
  weightedLeastConnections,
} from './least-connections.js';
import { RoundRobin, WeightedRoundRobin } from './round-robin.js';
import type { Scheduler, SchedulerOptions } from './types.js';

export type { BackendView, PickContext, Scheduler, SchedulerOptions } from './types.js';

export const schedulerNames = ['rr', 'wrr', 'lc', 'wlc', 'dh', 'sh', 'sed', 'nq'] as const;
export type SchedulerName = (typeof schedulerNames)[number];

export function createScheduler(name: SchedulerName, options: SchedulerOptions = {}): Scheduler {
  switch (name) {
    case 'rr':
      return new RoundRobin();
    case 'wrr':
      return new WeightedRoundRobin();
    case 'lc':
      return leastConnections(options);
    case 'wlc':
      return weightedLeastConnections(options);
    case 'dh':
      return new HashScheduler('dh');
    case 'sh':
      return new HashScheduler('sh');
    case 'sed':
      return shortestExpectedDelay(options);
    case 'nq':
      return new NeverQueue(options);
  }
}
