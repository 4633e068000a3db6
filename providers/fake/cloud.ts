/**
 * The fake cloud: an in-memory store of load balancers that records every call, in the manner of
 * k8s.io/cloud-provider/fake. Several provider instances may share one (a restarted controller is
 * a new provider over the same cloud), so everything that must survive a restart lives here.
 *
 * Tests steer it with switches: `exists` forces what reads report, `failNext` scripts errors,
 * `failureRate` fails calls at random (with an injected `random`), `throttleRate` starts bursts of
 * throttled answers, `lostAnswerRate` makes a write and then loses its answer, `latencyMs` charges
 * each call a delay (with an injected `sleep`). Other processes reach one over HTTP
 * (cloud-server.ts, remote-cloud.ts); the provider sees either through `FakeCloudApi`.
 */
import type { V1LoadBalancerIngress } from '@kubernetes/client-node';
import { CloudError } from '../../contract/errors.js';
import { ingressFor, nthAddress, type IngressMode } from './addresses.js';

/** The cloud's API, as the provider calls it; reads and writes are told apart in `calls`. */
export type FakeOperation =
  | 'GetLoadBalancer'
  | 'ListLoadBalancers'
  | 'CreateLoadBalancer'
  | 'UpdateLoadBalancer'
  | 'UpdateHosts'
  | 'SetTags'
  | 'DeleteLoadBalancer';

const writes: ReadonlySet<FakeOperation> = new Set([
  'CreateLoadBalancer',
  'UpdateLoadBalancer',
  'UpdateHosts',
  'SetTags',
  'DeleteLoadBalancer',
]);

/** The `cloudCode` of a create whose name is taken, as real clouds answer it. */
export const duplicateName = 'DuplicateLoadBalancerName';

export function isFakeWrite(operation: string): boolean {
  return writes.has(operation as FakeOperation);
}

export interface FakePort {
  readonly name?: string;
  readonly protocol: string;
  readonly port: number;
  readonly nodePort?: number;
}

/** The settings of a load balancer that `UpdateLoadBalancer` may change. */
export interface FakeListenerSpec {
  readonly ports: readonly FakePort[];
  readonly sourceRanges: readonly string[];
  /** The value of the `fake.kube-lbc.io/option` annotation, if any. */
  readonly option?: string;
}

/** One load balancer as the cloud stores it. */
export interface FakeLoadBalancer extends FakeListenerSpec {
  readonly name: string;
  /** Ownership tags: the garbage collector finds load balancers by these. */
  readonly tags: {
    readonly cluster: string;
    readonly serviceUID: string;
    readonly namespace: string;
    readonly serviceName: string;
  };
  /** Node names, sorted. */
  readonly nodes: readonly string[];
  readonly ingress: readonly V1LoadBalancerIngress[];
  /** `now()` at creation; the provider compares it with `provisioningDelayMs`. */
  readonly createdAt: number;
}

/** One recorded call. `service` is `namespace/name`; `nodes` is set for calls that carry them. */
export interface FakeCall {
  readonly method: FakeOperation;
  readonly service?: string;
  readonly nodes?: readonly string[];
  readonly write: boolean;
}

/** The cloud as the provider calls it: a `FakeCloud` in this process, or one behind HTTP. */
export interface FakeCloudApi {
  /** How long after creation a load balancer reports "still provisioning". */
  readonly provisioningDelayMs: number;
  now(): number;
  getLoadBalancer(name: string, service: string): Promise<FakeLoadBalancer | undefined>;
  listLoadBalancers(): Promise<FakeLoadBalancer[]>;
  createLoadBalancer(
    lb: Omit<FakeLoadBalancer, 'ingress' | 'createdAt'> & { requestedIP?: string },
    service: string,
  ): Promise<FakeLoadBalancer>;
  updateLoadBalancer(name: string, spec: FakeListenerSpec, service: string): Promise<void>;
  updateHosts(name: string, nodes: readonly string[], service: string): Promise<void>;
  /** Replaces the ownership tags: empty ones hand the load balancer back (release). */
  setTags(name: string, tags: FakeLoadBalancer['tags'], service: string): Promise<void>;
  deleteLoadBalancer(name: string, service: string): Promise<void>;
}

/** The `cloudCode` of an injected throttle, and of a write whose answer was lost. */
export const throttledCode = 'Throttling';
export const lostAnswerCode = 'LostAnswer';

export interface FakeCloudOptions {
  /** @default 0 */
  latencyMs?: number;
  /** Probability (0..1) that a call fails with a retryable `CloudError`. @default 0 */
  failureRate?: number;
  /** Probability (0..1) that a call starts a burst of throttled answers. @default 0 */
  throttleRate?: number;
  /** Calls throttled in one burst, the one that started it included. @default 10 */
  throttleBurst?: number;
  /** Probability (0..1) that a write is made and its answer then lost (a retryable error). @default 0 */
  lostAnswerRate?: number;
  /** @default 'ip' */
  ingress?: IngressMode;
  /** How long after creation a load balancer reports "still provisioning". @default 0 */
  provisioningDelayMs?: number;
  /** @default Math.random */
  random?: () => number;
  /** @default setTimeout-based */
  sleep?: (ms: number) => Promise<void>;
  /** @default Date.now */
  now?: () => number;
}

interface ScriptedFailure {
  readonly method: FakeOperation | '*';
  readonly error: Error;
  remaining: number;
}

export class FakeCloud implements FakeCloudApi {
  /** Every call in order, failed ones included (a failed write was still attempted). */
  readonly calls: FakeCall[] = [];
  /** Forces what `GetLoadBalancer` reports: `undefined` tells the truth. */
  exists: boolean | undefined = undefined;
  latencyMs: number;
  failureRate: number;
  throttleRate: number;
  throttleBurst: number;
  lostAnswerRate: number;
  ingress: IngressMode;
  provisioningDelayMs: number;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;

  readonly #loadBalancers = new Map<string, FakeLoadBalancer>();
  readonly #failures: ScriptedFailure[] = [];
  #allocated = 0;
  #throttledLeft = 0;

  constructor(options: FakeCloudOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.failureRate = options.failureRate ?? 0;
    this.throttleRate = options.throttleRate ?? 0;
    this.throttleBurst = options.throttleBurst ?? 10;
    this.lostAnswerRate = options.lostAnswerRate ?? 0;
    this.ingress = options.ingress ?? 'ip';
    this.provisioningDelayMs = options.provisioningDelayMs ?? 0;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  /** Makes the next `count` calls of `method` (or of any method, with `'*'`) throw `error`. */
  failNext(method: FakeOperation | '*', error: Error, count = 1): void {
    this.#failures.push({ method, error, remaining: count });
  }

  /** The recorded calls that changed (or tried to change) the cloud. */
  writes(): FakeCall[] {
    return this.calls.filter((c) => c.write);
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  /** A snapshot of every stored load balancer, by name; no call is recorded. */
  loadBalancers(): FakeLoadBalancer[] {
    return [...this.#loadBalancers.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Looks a load balancer up without recording a call (for assertions). */
  peek(name: string): FakeLoadBalancer | undefined {
    return this.#loadBalancers.get(name);
  }

  async getLoadBalancer(name: string, service: string): Promise<FakeLoadBalancer | undefined> {
    await this.#enter({ method: 'GetLoadBalancer', service, write: false });
    const found = this.#loadBalancers.get(name);
    if (this.exists === false) return undefined;
    if (this.exists === true && !found) return forcedExisting(name, this.now());
    return found;
  }

  async listLoadBalancers(): Promise<FakeLoadBalancer[]> {
    await this.#enter({ method: 'ListLoadBalancers', write: false });
    return this.loadBalancers();
  }

  async createLoadBalancer(
    lb: Omit<FakeLoadBalancer, 'ingress' | 'createdAt'> & { requestedIP?: string },
    service: string,
  ): Promise<FakeLoadBalancer> {
    await this.#enter({ method: 'CreateLoadBalancer', service, nodes: lb.nodes, write: true });
    if (this.#loadBalancers.has(lb.name)) {
      throw new CloudError(`load balancer ${lb.name} already exists`, {
        operation: 'CreateLoadBalancer',
        cloudCode: duplicateName,
        retryable: false,
      });
    }
    const { requestedIP, ...rest } = lb;
    const ingress = requestedIP
      ? [{ ip: requestedIP }]
      : ingressFor(this.ingress, lb.name, () => nthAddress(this.#allocated++));
    const created: FakeLoadBalancer = { ...rest, ingress, createdAt: this.now() };
    this.#loadBalancers.set(lb.name, created);
    this.#answer('CreateLoadBalancer');
    return created;
  }

  async updateLoadBalancer(name: string, spec: FakeListenerSpec, service: string): Promise<void> {
    await this.#enter({ method: 'UpdateLoadBalancer', service, write: true });
    const lb = this.#mustFind(name, 'UpdateLoadBalancer');
    this.#loadBalancers.set(name, { ...lb, ...spec });
    this.#answer('UpdateLoadBalancer');
  }

  async updateHosts(name: string, nodes: readonly string[], service: string): Promise<void> {
    await this.#enter({ method: 'UpdateHosts', service, nodes, write: true });
    const lb = this.#mustFind(name, 'UpdateHosts');
    // A frozen list is the provider's shared one: kept as it is, not copied per load balancer.
    this.#loadBalancers.set(name, { ...lb, nodes: Object.isFrozen(nodes) ? nodes : [...nodes] });
    this.#answer('UpdateHosts');
  }

  async setTags(name: string, tags: FakeLoadBalancer['tags'], service: string): Promise<void> {
    await this.#enter({ method: 'SetTags', service, write: true });
    const lb = this.#mustFind(name, 'SetTags');
    this.#loadBalancers.set(name, { ...lb, tags: { ...tags } });
    this.#answer('SetTags');
  }

  async deleteLoadBalancer(name: string, service: string): Promise<void> {
    await this.#enter({ method: 'DeleteLoadBalancer', service, write: true });
    this.#mustFind(name, 'DeleteLoadBalancer');
    this.#loadBalancers.delete(name);
    this.#answer('DeleteLoadBalancer');
  }

  /**
   * Records the call, charges the latency, then throws any scripted failure, a throttle (inside a
   * burst, or starting one), or a random failure.
   */
  async #enter(call: FakeCall): Promise<void> {
    this.calls.push(call);
    if (this.latencyMs > 0) await this.sleep(this.latencyMs);
    const scripted = this.#failures.find((f) => f.method === '*' || f.method === call.method);
    if (scripted) {
      if (--scripted.remaining <= 0) this.#failures.splice(this.#failures.indexOf(scripted), 1);
      throw scripted.error;
    }
    if (this.#throttledLeft === 0 && this.throttleRate > 0 && this.random() < this.throttleRate) {
      this.#throttledLeft = Math.max(1, this.throttleBurst);
    }
    if (this.#throttledLeft > 0) {
      this.#throttledLeft--;
      throw new CloudError(`fake cloud: ${call.method} throttled`, {
        operation: call.method,
        cloudCode: throttledCode,
        throttled: true,
      });
    }
    if (this.failureRate > 0 && this.random() < this.failureRate) {
      throw new CloudError(`fake cloud: injected failure of ${call.method}`, {
        operation: call.method,
        cloudCode: 'InjectedFailure',
      });
    }
  }

  /** After a write took effect: loses its answer at `lostAnswerRate`, as a reset connection does. */
  #answer(operation: FakeOperation): void {
    if (this.lostAnswerRate > 0 && this.random() < this.lostAnswerRate) {
      throw new CloudError(`fake cloud: the answer to ${operation} was lost`, {
        operation,
        cloudCode: lostAnswerCode,
      });
    }
  }

  #mustFind(name: string, operation: FakeOperation): FakeLoadBalancer {
    const lb = this.#loadBalancers.get(name);
    if (!lb) {
      throw new CloudError(`load balancer ${name} not found`, {
        operation,
        cloudCode: 'LoadBalancerNotFound',
        retryable: false,
        notFound: true,
      });
    }
    return lb;
  }
}

/** What a read reports when a test forces `exists = true` for a load balancer never made. */
function forcedExisting(name: string, now: number): FakeLoadBalancer {
  return {
    name,
    tags: { cluster: '', serviceUID: '', namespace: '', serviceName: '' },
    ports: [],
    sourceRanges: [],
    nodes: [],
    ingress: [],
    createdAt: now,
  };
}

export function createFakeCloud(options?: FakeCloudOptions): FakeCloud {
  return new FakeCloud(options);
}
