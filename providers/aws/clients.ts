/**
 * The ELBv2 and EC2 clients, built from the SDK's standard chains, with one middleware that sends
 * every call through the shared `CloudCalls` gate and classifies its errors. Nothing in the
 * provider calls AWS any other way, so budgets, throttle backoff and call counts cover it all.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CallBudget, CallOptions, CloudCalls } from '../../contract/cloud-calls.js';
import type { AwsConfig } from './config.js';
import { classifyAwsError, isNotFound } from './errors.js';

/**
 * Call budgets, one queue per family of AWS token buckets (per account and region), each set to
 * the bucket AWS documents for it, so kube-lbc alone never draws one faster than it refills:
 * - `describe`: ELBv2 non-mutating actions (Describe*), a bucket of 40 refilled at 10/s. The same
 *   as aws-load-balancer-controller's default for every ELBv2 call (10/s, burst 40).
 * - `register`: RegisterTargets and DeregisterTargets, whose bucket is the smallest of ELBv2's;
 *   4/s, burst 20, as aws-load-balancer-controller budgets them. A separate queue, so a burst of
 *   target changes cannot starve the describes.
 * - `mutate`: every other ELBv2 write (create, modify, delete, tags), 10/s, burst 40.
 * - `ec2-describe`: EC2 throttles each non-mutating action in its own bucket (DescribeHosts' is
 *   100, refilled at 20/s); one queue for all of them at that rate is below every action's.
 * - `ec2-mutate`: EC2's mutating actions (security group rules), a bucket of 50 refilled at 5/s.
 * These buckets are the account's, shared with the console, Terraform or another controller:
 * when they draw too, AWS answers Throttling and the gate pauses the whole family (the only
 * throttle feedback: the SDK's own retries are off, see `createAwsClients`). `concurrency` bounds
 * calls in flight, so a slow endpoint cannot pile up requests the bucket would refuse anyway.
 * `--cloud-qps`/`--cloud-burst` scale every family by one factor (their ratio to `default`);
 * `--cloud-budget family=qps:burst[:concurrency]` sets one family alone, for an account whose
 * limits AWS Support raised or that other tools share.
 */
export const awsCallBudgets = {
  default: { qps: 10, burst: 40, concurrency: 10 },
  describe: { qps: 10, burst: 40, concurrency: 10 },
  mutate: { qps: 10, burst: 40, concurrency: 10 },
  register: { qps: 4, burst: 20, concurrency: 5 },
  'ec2-describe': { qps: 20, burst: 100, concurrency: 10 },
  'ec2-mutate': { qps: 5, burst: 50, concurrency: 5 },
} as const satisfies Record<string, CallBudget>;

/** Which budget an API call draws from. */
export function budgetFor(client: 'elb' | 'ec2', commandName: string): keyof typeof awsCallBudgets {
  const command = commandName.replace(/Command$/, '');
  if (client === 'ec2') return /^Describe/.test(command) ? 'ec2-describe' : 'ec2-mutate';
  if (/^Describe/.test(command)) return 'describe';
  if (command === 'RegisterTargets' || command === 'DeregisterTargets') return 'register';
  return 'mutate';
}

/**
 * Which calls the gate may send again after a transient failure (a 5xx, a lost connection, a
 * timeout). The rule is the one the cloud gives: repeating must have the effect of sending once.
 * - Reads, always.
 * - ELBv2 documents CreateTargetGroup as idempotent for the same settings (a repeat returns what
 *   the first made); where an API answers a repeat with Duplicate* instead (moto does, and EC2's
 *   CreateSecurityGroup), the provider already takes that answer as "made by the attempt whose
 *   answer was lost" and reads it.
 * - Security group rule changes, which the provider only makes through ingress-rules.ts: it
 *   takes the InvalidPermission.Duplicate or .NotFound a repeat gets as done.
 * - Set-to-this-value writes (Modify*, Set*, tags, target (de)registration) and
 *   DeleteLoadBalancer, which AWS documents as succeeding when the NLB is already gone.
 * - CreateLoadBalancer and CreateListener are verified by a read first: a describe by name
 *   returns the NLB, a describe of the NLB's listeners the one on that port, that an earlier
 *   attempt made. A repeat would not be safe everywhere: moto makes a second NLB of the same
 *   name, and a second listener on the port (listeners.ts deletes one it ever finds).
 * Every other write (the other deletes) fails through to the provider, whose next sync reads
 * before it writes again, as before.
 */
export function repeatPolicy(
  client: 'elb' | 'ec2',
  operation: string,
): 'idempotent' | 'verify' | undefined {
  if (/^Describe/.test(operation)) return 'idempotent';
  if (client === 'ec2') {
    return /^(CreateSecurityGroup|AuthorizeSecurityGroupIngress|RevokeSecurityGroupIngress)$/.test(
      operation,
    )
      ? 'idempotent'
      : undefined;
  }
  if (operation === 'CreateLoadBalancer' || operation === 'CreateListener') return 'verify';
  if (
    /^(CreateTargetGroup|Modify|Set|AddTags|RemoveTags|RegisterTargets|DeregisterTargets|DeleteLoadBalancer$)/.test(
      operation,
    )
  ) {
    return 'idempotent';
  }
  return undefined;
}

/**
 * The SDK's own timeouts, per attempt. A hung endpoint (it accepts the connection, then never
 * answers) fails the attempt with a TimeoutError, which the gate counts as transient: the slot is
 * free again and a read is retried. Well below the gate's own deadline, which stays a backstop.
 */
export interface AwsHttpTimeouts {
  /** To establish the TCP (and TLS) connection. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** From sending the request to the whole answer. @default 30000 */
  readonly requestTimeoutMs?: number;
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
 * from the gate. The gate also retries transient failures, of the calls `repeatPolicy` allows.
 * `retryMode: 'standard'` is set, not left to the environment: `AWS_RETRY_MODE=adaptive` (or
 * `retry_mode` in a shared config file) would add the SDK's client-side rate limiter, a second
 * throttle-driven rate beside the gate's pause, which slows each client on its own.
 */
export function createAwsClients(
  config: AwsConfig,
  cloudCalls: CloudCalls,
  timeouts: AwsHttpTimeouts = {},
): AwsClients {
  const common = {
    maxAttempts: 1,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: timeouts.connectTimeoutMs ?? 5000,
      requestTimeout: timeouts.requestTimeoutMs ?? 30_000,
      // Without it a request past requestTimeout only logs a warning and goes on waiting.
      throwOnRequestTimeout: true,
    },
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
 * Stands between the provider and the gate while a plan runs (plan.ts): it answers writes itself,
 * so they are recorded and never sent, and may narrow or answer reads of what it made up.
 */
export interface CallInterceptor {
  /**
   * `output`: answer with it, unsent; `input`: send this input instead, and pass the answer
   * through `then` if given; undefined: send as is.
   */
  intercept(
    kind: 'elb' | 'ec2',
    operation: string,
    input: Record<string, unknown>,
  ):
    | { output: unknown }
    | { input: Record<string, unknown>; then?: (output: unknown) => unknown }
    | undefined;
  /** Told each answer that came back from AWS. */
  observe(kind: 'elb' | 'ec2', operation: string, output: unknown): void;
}

const interceptors = new AsyncLocalStorage<CallInterceptor>();

/** Whether the caller runs inside `whileIntercepted` (a plan): what it learns is made up. */
export function isIntercepted(): boolean {
  return interceptors.getStore() !== undefined;
}

/** Runs `fn` with every AWS call it makes, however deep, going through `interceptor` first. */
export function whileIntercepted<T>(
  interceptor: CallInterceptor,
  fn: () => Promise<T>,
): Promise<T> {
  return interceptors.run(interceptor, fn);
}

/**
 * Runs `fn` with `signal` guarding every AWS write it makes, however deep: once it aborts (the
 * leader lost its lease), no further write is sent, even one already queued behind a throttle.
 * Reads still go, so a caller can finish looking; they cannot change anything.
 */
export function whileSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return callSignal.run(signal, fn);
}

function callOptions(
  client: unknown,
  kind: 'elb' | 'ec2',
  operation: string,
  args: unknown,
): CallOptions<unknown> {
  if (/^Describe/.test(operation)) return { idempotent: true, readOnly: true };
  const policy = repeatPolicy(kind, operation);
  if (policy === 'idempotent') return { idempotent: true };
  if (policy !== 'verify') return {};
  const input = (args as { input?: Record<string, unknown> }).input ?? {};
  const verify = verifier(client as ElasticLoadBalancingV2Client, operation, input);
  return verify ? { verify } : {};
}

/**
 * For a create `repeatPolicy` verifies: the read that finds what an attempt whose answer was lost
 * made, answered as the create's own output would hold it, or undefined to create again.
 */
function verifier(
  elb: ElasticLoadBalancingV2Client,
  operation: string,
  input: Record<string, unknown>,
): (() => Promise<unknown>) | undefined {
  const found = (output: unknown) => ({ output, response: undefined });
  if (operation === 'CreateLoadBalancer' && typeof input.Name === 'string') {
    const name = input.Name;
    return async () => {
      const out = await absentIfNotFound(
        elb.send(new DescribeLoadBalancersCommand({ Names: [name] })),
      );
      const lb = out?.LoadBalancers?.find((l) => l.LoadBalancerName === name);
      return lb ? found({ LoadBalancers: [lb] }) : undefined;
    };
  }
  if (operation === 'CreateListener' && typeof input.LoadBalancerArn === 'string') {
    const { LoadBalancerArn, Port } = input;
    return async () => {
      const out = await absentIfNotFound(
        elb.send(new DescribeListenersCommand({ LoadBalancerArn })),
      );
      const listener = out?.Listeners?.find((l) => l.Port === Port);
      return listener ? found({ Listeners: [listener] }) : undefined;
    };
  }
  return undefined;
}

async function absentIfNotFound<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** At the initialize step, so one gate entry covers one whole request (signing, sending). */
function throughGate(client: unknown, kind: 'elb' | 'ec2', cloudCalls: CloudCalls): void {
  (client as MiddlewareClient).middlewareStack.add(
    (next, context) => (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const interceptor = interceptors.getStore();
      let then: ((output: unknown) => unknown) | undefined;
      if (interceptor) {
        const call = args as { input: Record<string, unknown> };
        const answer = interceptor.intercept(kind, operation, call.input);
        if (answer && 'output' in answer) {
          return Promise.resolve({ output: answer.output, response: undefined });
        }
        if (answer) {
          args = { ...call, input: answer.input };
          then = answer.then;
        }
      }
      // Taken here: the gate may run the call from another caller's async context.
      const signal = /^Describe/.test(operation) ? undefined : callSignal.getStore();
      signal?.throwIfAborted();
      // The gate's attempt signal is not wired to the request: the HTTP handler's own timeouts end
      // a hung request well before the gate's deadline would.
      return cloudCalls
        .call(
          budgetFor(kind, operation),
          operation,
          async () => {
            // Again once admitted (and before a retry): the wait may outlast the lease.
            signal?.throwIfAborted();
            try {
              return await next(args);
            } catch (err) {
              throw classifyAwsError(operation, err);
            }
          },
          callOptions(client, kind, operation, args),
        )
        .then((result) => {
          const r = result as { output?: unknown };
          interceptor?.observe(kind, operation, r.output);
          return then ? { ...r, output: then(r.output) } : result;
        });
    },
    { step: 'initialize', name: 'kubeLbcCloudCalls', priority: 'high' },
  );
}
