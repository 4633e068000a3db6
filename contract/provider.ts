/**
 * The provider contract: what kube-lbc asks of a load-balancer implementation.
 *
 * Shaped after k8s.io/cloud-provider's `LoadBalancer` interface (cloud.go): get, ensure with the
 * node list, update hosts, ensure deleted, name. Everything here is a promise to plugin authors;
 * change it only with a major version.
 *
 * The core owns Kubernetes: it watches Services and Nodes, picks the eligible nodes, allocates
 * missing NodePorts, keeps the finalizer, writes status and records Events. A provider owns the
 * cloud: it turns one Service plus a node list into cloud resources, and back into nothing.
 */
import type { V1LoadBalancerIngress, V1Node, V1Service } from '@kubernetes/client-node';
import type { CallBudget, CloudCalls } from './cloud-calls.js';
import type { Logger } from './logger.js';
import type { MetricFamily } from './metrics.js';

// What a plugin's own signatures need, importable from this one module (`kube-lbc/provider`).
export type { CallBudget, CloudCalls } from './cloud-calls.js';
export type { Logger } from './logger.js';
export type { MetricFamily } from './metrics.js';
// The Kubernetes types a provider's signatures use, so a plugin needs no import of its own.
export type { V1LoadBalancerIngress, V1Node, V1Service } from '@kubernetes/client-node';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** Every protocol a Service port may name. */
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/**
 * What a provider can do, declared up front so the core can refuse a Service it cannot serve with
 * a clear Warning Event naming the field, before any cloud call is made.
 */
export interface Capabilities {
  /**
   * The load balancer sends traffic to nodes at their NodePorts. When true, the core makes sure
   * every port has a NodePort, allocating one itself where the API server did not
   * (`allocateLoadBalancerNodePorts: false`).
   */
  readonly targetsNodePorts: boolean;
  /** Protocols a Service port may use. */
  readonly protocols: readonly Protocol[];
  /** TCP and UDP ports on one load balancer (`MixedProtocolLBService`). */
  readonly mixedProtocols: boolean;
  /** Honours `spec.loadBalancerIP`. */
  readonly requestedIP: boolean;
  /** Honours `spec.loadBalancerSourceRanges`. */
  readonly sourceRanges: boolean;
  /** Serves IPv4 and IPv6 on one load balancer. */
  readonly dualStack: boolean;
  /** Nodes must carry `spec.providerID` to be targeted; nodes without it are not eligible. */
  readonly needsProviderID: boolean;
  /**
   * How traffic reaches the Service: `VIP` (the destination stays the load balancer's IP, so
   * kube-proxy may short-circuit it) or `Proxy` (the load balancer terminates and re-sends).
   * The core writes it into `status.loadBalancer.ingress[].ipMode` for IP ingresses.
   */
  readonly ipMode: 'VIP' | 'Proxy';
}

/** The yes/no capabilities, for code that checks or sets them by name. */
export const BOOLEAN_CAPABILITIES = [
  'targetsNodePorts',
  'mixedProtocols',
  'requestedIP',
  'sourceRanges',
  'dualStack',
  'needsProviderID',
] as const satisfies readonly (keyof Capabilities)[];

/** A load balancer the provider found in the cloud, tagged as owned by this cluster. */
export interface OwnedLoadBalancer {
  /** UID of the Service it was made for. The garbage collector compares it with live Services. */
  readonly serviceUID: string;
  readonly namespace: string;
  readonly name: string;
}

/** One invalid field of a Service, as the provider sees it. */
export interface FieldError {
  /** The path a user would search for: `metadata.annotations[service.beta.kubernetes.io/...]`. */
  readonly field: string;
  readonly message: string;
}

/** Handed to every provider call. */
export interface CallContext {
  /** Aborted when the controller shuts down or loses leadership: stop before the next write. */
  readonly signal: AbortSignal;
  /** Carries `{ service }`. */
  readonly logger: Logger;
  /** Records an Event on the Service (for example a Warning for a node it had to skip). */
  recordEvent(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/**
 * What `ensureLoadBalancer` reports: the ingress points the core writes to status.
 * Return the cloud's own addresses; the core fills in `ipMode` from the capabilities.
 */
export interface LoadBalancerStatus {
  readonly ingress: readonly V1LoadBalancerIngress[];
}

/**
 * A load-balancer implementation.
 *
 * Every method must:
 * - treat the Service and Node objects as read-only (they are the informer's cache);
 * - be idempotent and safe to retry after a crash at any point: find what exists by name or tag,
 *   never by remembering it in memory, and never create a second copy of anything;
 * - make no cloud write when the cloud already matches what is asked for;
 * - throw errors from `./errors.js`, so the core can tell a retry-after from a bad Service from a
 *   cloud failure. Any other error is retried with per-Service exponential backoff.
 */
export interface LoadBalancerProvider {
  /** The name it was registered under: `aws`, `gcp`, `local`, or a plugin's own. */
  readonly name: string;
  readonly capabilities: Capabilities;
  /**
   * Default limits on cloud calls, by budget name, used through the `CloudCalls` the factory was
   * given. `default` is required; the `--cloud-qps`/`--cloud-burst` flags override it. An
   * in-memory provider may declare `Infinity`.
   */
  readonly callBudgets: Readonly<Record<string, CallBudget>> & { readonly default: CallBudget };

  /**
   * The name the load balancer has (or would have) in the cloud. Deterministic from the cluster
   * name and the Service UID, and within the cloud's length limit: two clusters sharing an
   * account never collide, and a restart finds what it made before.
   */
  loadBalancerName(clusterName: string, service: Readonly<V1Service>): string;

  /**
   * Checks a Service's provider-specific settings (annotations, cloud-config overrides) and
   * returns every problem at once; an empty list means valid. Pure: no cloud call. The core calls
   * it before `ensureLoadBalancer` and `updateLoadBalancerHosts`, and on any error leaves the
   * existing load balancer untouched.
   */
  validateService(service: Readonly<V1Service>): readonly FieldError[];

  /**
   * The load balancer's current status, or `undefined` if it does not exist. Read-only.
   */
  getLoadBalancer(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<LoadBalancerStatus | undefined>;

  /**
   * Creates the load balancer, or brings an existing one in line with the Service and the nodes,
   * changing only what differs. `nodes` are the eligible nodes, already filtered by the core.
   * Returns the status to publish. While the cloud is still provisioning it throws
   * `RetryAfterError` (optionally carrying the status so far); the core retries after exactly
   * that delay without counting a failure.
   */
  ensureLoadBalancer(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<LoadBalancerStatus>;

  /**
   * Points an existing load balancer at a new set of nodes. Called in one batched pass per node
   * change, for every load balancer whose node set changed; it must touch nothing but targets.
   * A load balancer that does not exist is not an error here (the next ensure creates it).
   */
  updateLoadBalancerHosts(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<void>;

  /**
   * Deletes everything made for the Service, including a half-built set left by a crash.
   * Deleting what does not exist returns success. Only `metadata.uid`, `namespace` and `name`
   * of the Service may be relied on: the garbage collector calls it for Services that are gone.
   */
  ensureLoadBalancerDeleted(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<void>;

  /**
   * Lists the load balancers this cluster owns, found by tag, for the garbage collector. Optional:
   * a provider without it is never garbage-collected (finalizers still protect it).
   */
  listLoadBalancers?(ctx: CallContext, clusterName: string): Promise<readonly OwnedLoadBalancer[]>;

  /**
   * Optional: metrics of what the provider runs itself, read at each scrape (see
   * `./metrics.ts`). The same families, with the same labels, on every call.
   */
  collectMetrics?(): readonly MetricFamily[];

  /**
   * A dry run of `ensureLoadBalancer` (`kube-lbc plan`): the cloud writes it would make now, in
   * the order it would make them, without making any. An empty list means ensure would change
   * nothing. The rules:
   * - Read only, by construction: every cloud call must go through `cloudCalls` marked
   *   `readOnly: true`. `kube-lbc plan` hands the provider a gate that refuses any other call,
   *   so a write here fails the plan instead of changing the cloud.
   * - Exact: calling `ensureLoadBalancer` with the same arguments right after (nothing else
   *   changed) makes exactly the listed writes, each `operation` being the name that write goes
   *   through the gate under. The conformance kit checks it.
   * - A Service the provider would refuse throws `InvalidServiceError`, as ensure does.
   * Optional: without it, `kube-lbc plan` lists the Service as "not planned by this provider".
   */
  planLoadBalancer?(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
    nodes: readonly Readonly<V1Node>[],
  ): Promise<readonly PlannedChange[]>;

  /**
   * Hands the load balancer back without deleting it (`kube-lbc release`, or the Service's
   * `kube-lbc.io/release` annotation): every cloud resource stays and keeps serving, but nothing
   * says this cluster's kube-lbc owns it any more, so neither a later ensure's clean-up nor the
   * garbage collector touches it, and the previous owner (or another controller) can adopt it.
   * Remove the marks of kube-lbc's own ownership; where the load balancer was adopted, put back
   * what the previous owner needs to find it again. The core removes the finalizer only after
   * this returns, and then leaves the Service alone while the annotation stays.
   * Idempotent: releasing what is already released, or what does not exist, returns success.
   * Optional: without it, the core refuses a release with a Warning Event and changes nothing.
   */
  releaseLoadBalancer?(
    ctx: CallContext,
    clusterName: string,
    service: Readonly<V1Service>,
  ): Promise<void>;

  /** Releases sockets, timers and clients. Called once, on shutdown. */
  close?(): Promise<void>;
}

/** One cloud write that `ensureLoadBalancer` would make now (`planLoadBalancer`). */
export interface PlannedChange {
  /** The write's operation name, as it would go through the gate (`CreateListener`). */
  readonly operation: string;
  /** The change for a person: `create NLB k8s-...`, `add listener TCP 443`, `register 2 targets`. */
  readonly description: string;
}

/** What a provider factory is given. */
export interface ProviderOptions {
  /** The parsed `--cloud-config` file (YAML or JSON), or `{}`. Validate it and reject unknown keys. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly clusterName: string;
  readonly logger: Logger;
  /**
   * The shared gate every cloud call must go through: it applies the rate and concurrency limits
   * declared in `callBudgets` across all workers, slows everyone down on a throttle, and counts
   * calls for metrics.
   */
  readonly cloudCalls: CloudCalls;
  /**
   * A read-only view of the controller's informer caches, complete before the first provider call.
   * For providers that keep their own state in the cluster (an address pool must know every
   * address already in a Service's status after a restart, whichever Service is synced first).
   */
  readonly cluster: ClusterView;
}

/** The informer caches, read-only. Never mutate what these return. */
export interface ClusterView {
  services(): readonly Readonly<V1Service>[];
  nodes(): readonly Readonly<V1Node>[];
}

/**
 * Creates a provider. Throw `ProviderConfigError` for a bad config (the command exits 2 and
 * names the key); anything else is reported as "provider failed to start".
 */
export type ProviderFactory = (options: ProviderOptions) => Promise<LoadBalancerProvider>;
