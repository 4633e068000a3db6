/** What a plugin author passes to `describeProviderConformance`. */
import type { V1Node, V1Service } from '@kubernetes/client-node';
import type { LoadBalancerProvider, ProviderOptions } from '../../contract/provider.js';

export interface ConformanceOptions {
  /** Names the mocha `describe` block: `provider conformance: <name>`. */
  readonly name: string;
  /**
   * Starts a provider. Called many times: each call is a controller restart over the same cloud,
   * so it must not carry state over in memory. Pass `options.cloudCalls` through: every cloud
   * call must go through it (the kit counts calls, and simulates crashes, there).
   */
  createProvider(options: ProviderOptions): Promise<LoadBalancerProvider>;
  /**
   * Everything that exists in the cloud account, for leak checks: one entry per resource,
   * described by stable attributes (names, tags, ports, targets), not by IDs or addresses the
   * cloud allocates anew on each create. The order does not matter.
   */
  inventory(): Promise<readonly unknown[]>;
  /** Called before each test, for example to empty an in-memory cloud. */
  reset?(): Promise<void>;
  /** Adjusts each Service the kit builds (required annotations, a class). Mutate in place. */
  tweakService?(service: V1Service): void;
  /** Adjusts each Node (a real instance's providerID and address). Mutate in place. */
  tweakNode?(node: V1Node, index: number): void;
  /** How many nodes the provider can target at most (the kit uses up to 3). @default 3 */
  readonly nodeCount?: number;
  /** Tells a cloud write from a read by operation name. @default `isWriteOperation` */
  isWrite?(operation: string): boolean;
  /** The cloud's limit on load-balancer names. @default 63 (a DNS label) */
  readonly maxNameLength?: number;
  /** The `--cloud-config` handed to `createProvider`. @default {} */
  readonly config?: Readonly<Record<string, unknown>>;
  /** @default 'conformance' */
  readonly clusterName?: string;
  /** Per-test timeout; raise it for a real cloud. @default 30000 */
  readonly timeoutMs?: number;
  /** Longest wait honoured for a `RetryAfterError` while provisioning. @default 10000 */
  readonly maxRetryDelayMs?: number;
}

const mutatingVerbs = new Set([
  'create',
  'delete',
  'update',
  'modify',
  'register',
  'deregister',
  'add',
  'remove',
  'set',
  'put',
  'insert',
  'patch',
  'allocate',
  'release',
  'attach',
  'detach',
  'associate',
  'disassociate',
  'replace',
  'apply',
]);

/**
 * An operation is a write when any word of its name is a mutating verb: `CreateLoadBalancer`,
 * `elbv2.RegisterTargets`, `forwardingRules.insert`. Words split on case and punctuation, so
 * `GetAddresses` is a read.
 */
export function isWriteOperation(operation: string): boolean {
  const words = operation
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z]+/)
    .map((w) => w.toLowerCase());
  return words.some((w) => mutatingVerbs.has(w));
}
