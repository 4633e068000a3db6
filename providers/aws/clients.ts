/**
 * The ELBv2 and EC2 clients, built from the SDK's standard chains, with one middleware that sends
 * every call through the shared `CloudCalls` gate and classifies its errors. Nothing in the
 * provider calls AWS any other way, so budgets, throttle backoff and call counts cover it all.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CallBudget } from '../../contract/provider.js';
import type { CloudCalls } from '../../contract/cloud-calls.js';
import type { AwsConfig } from './config.js';
import { classifyAwsError } from './errors.js';

/**
 * Call budgets, one queue per AWS token bucket. AWS publishes the ELBv2 describe bucket as 40
 * tokens refilled at 10/s per account and region; we take 30 and 8, since the console, Terraform
 * or the AWS Load Balancer Controller share that bucket. Mutations and target registration
 * (register and deregister) have their own, smaller buckets: separate queues here mean a burst of
 * target changes cannot starve the describes. Their figures, and EC2's, are conservative choices
 * of ours, below the documented EC2 non-mutating bucket (100, 20/s). The `--cloud-qps` and
 * `--cloud-burst` flags reach only `default`, which no AWS call uses once these are configured.
 */
export const awsCallBudgets = {
  default: { qps: 5, burst: 10, concurrency: 4 },
  describe: { qps: 8, burst: 30, concurrency: 8 },
  mutate: { qps: 3, burst: 10, concurrency: 4 },
  register: { qps: 3, burst: 10, concurrency: 4 },
  'ec2-describe': { qps: 15, burst: 50, concurrency: 8 },
  'ec2-mutate': { qps: 3, burst: 10, concurrency: 4 },
} as const satisfies Record<string, CallBudget>;

/** Which budget an API call draws from. */
export function budgetFor(client: 'elb' | 'ec2', commandName: string): keyof typeof awsCallBudgets {
  const command = commandName.replace(/Command$/, '');
  if (client === 'ec2') return /^Describe/.test(command) ? 'ec2-describe' : 'ec2-mutate';
  if (/^Describe/.test(command)) return 'describe';
  if (command === 'RegisterTargets' || command === 'DeregisterTargets') return 'register';
  return 'mutate';
}

export interface AwsClients {
  readonly elb: ElasticLoadBalancingV2Client;
  readonly ec2: EC2Client;
  destroy(): void;
}

/**
 * `maxAttempts: 1` turns the SDK's own retry off: a throttle then surfaces at once as a
 * `CloudError({ throttled })`, and the shared gate pauses the whole budget for every worker.
 * Two retry loops stacked (SDK inside, gate outside) would multiply attempts and hide throttles
 * from the gate. Transient non-throttle failures are retried by the core's per-Service backoff.
 */
export function createAwsClients(config: AwsConfig, cloudCalls: CloudCalls): AwsClients {
  const common = {
    maxAttempts: 1,
    ...(config.region ? { region: config.region } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
  };
  const elb = new ElasticLoadBalancingV2Client(common);
  const ec2 = new EC2Client(common);
  throughGate(elb, 'elb', cloudCalls);
  throughGate(ec2, 'ec2', cloudCalls);
  return {
    elb,
    ec2,
    destroy() {
      elb.destroy();
      ec2.destroy();
    },
  };
}

interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string; priority: 'high' },
    ): void;
  };
}

const callSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `fn` with `signal` guarding every AWS write it makes, however deep: once it aborts (the
 * leader lost its lease), no further write is sent, even one already queued behind a throttle.
 * Reads still go, so a caller can finish looking; they cannot change anything.
 */
export function whileSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return callSignal.run(signal, fn);
}

/** At the initialize step, so one gate entry covers one whole request (signing, sending). */
function throughGate(client: unknown, kind: 'elb' | 'ec2', cloudCalls: CloudCalls): void {
  (client as MiddlewareClient).middlewareStack.add(
    (next, context) => (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      // Taken here: the gate may run the call from another caller's async context.
      const signal = /^Describe/.test(operation) ? undefined : callSignal.getStore();
      signal?.throwIfAborted();
      return cloudCalls.call(budgetFor(kind, operation), operation, async () => {
        // Again once admitted: the wait for a budget may outlast the lease.
        signal?.throwIfAborted();
        try {
          return await next(args);
        } catch (err) {
          throw classifyAwsError(operation, err);
        }
      });
    },
    { step: 'initialize', name: 'kubeLbcCloudCalls', priority: 'high' },
  );
}
