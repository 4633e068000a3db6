/**
 * The `@google-cloud/compute` clients, and the one adapter every call goes through: the shared
 * `CloudCalls` gate (budgets, throttle pauses, call counts), error classification, and for writes
 * the wait for the Operation until DONE. Nothing in the provider calls Compute any other way.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import compute from '@google-cloud/compute';
import { PassThroughClient } from 'google-auth-library';
import type { CloudCalls } from '../../contract/cloud-calls.js';
import type { CallBudget, PlannedChange } from '../../contract/provider.js';
import type { GcpConfig } from './config.js';
import { classifyGcpError, isNotFound, operationError } from './errors.js';

/**
 * Budgets by operation family, after Compute Engine's per-project API rate quotas, which count
 * reads, lists, mutations and Operation reads apart: separate queues mean a burst of Operation
 * polling cannot starve the reads of a sync. The figures are conservative choices of ours, well
 * below the default quotas, since gcloud, Terraform and GKE's own controllers share them.
 */
export const gcpCallBudgets = {
  default: { qps: 5, burst: 10, concurrency: 4 },
  read: { qps: 20, burst: 40, concurrency: 8 },
  list: { qps: 5, burst: 20, concurrency: 4 },
  write: { qps: 5, burst: 20, concurrency: 4 },
  operations: { qps: 20, burst: 40, concurrency: 8 },
} as const satisfies Record<string, CallBudget>;

export function budgetFor(operation: string): keyof typeof gcpCallBudgets {
  const [client, method = ''] = operation.split('.');
  if (client?.endsWith('Operations')) return 'operations';
  if (method === 'get' || method === 'listInstances') return 'read';
  if (/list/i.test(method)) return 'list';
  return 'write';
}

export type OperationScope = { region: string } | { zone: string } | 'global';

interface OperationLike {
  name?: string | null;
  status?: string | number | null;
  error?: { errors?: { code?: string | null; message?: string | null }[] | null } | null;
  httpErrorStatusCode?: number | null;
}

/**
 * One set of clients per endpoint for the whole process. Each client's first call loads and
 * hashes the whole Compute proto descriptor (about 150 ms of CPU), and a restarted provider
 * (a new leader term, a test's restart) would pay it again for ten clients; the clients keep no
 * cloud state, and the REST transport's sockets sit in one agent shared by all of them anyway.
 */
const shared = new Map<string, ReturnType<typeof newClients>>();

export function createClients(config: GcpConfig) {
  const key = config.apiEndpoint ?? '';
  let clients = shared.get(key);
  if (!clients) shared.set(key, (clients = newClients(config)));
  return clients;
}

function newClients(config: GcpConfig) {
  const options = clientOptions(config);
  return {
    addresses: new compute.AddressesClient(options),
    instances: new compute.InstancesClient(options),
    instanceGroups: new compute.InstanceGroupsClient(options),
    healthChecks: new compute.RegionHealthChecksClient(options),
    backendServices: new compute.RegionBackendServicesClient(options),
    forwardingRules: new compute.ForwardingRulesClient(options),
    firewalls: new compute.FirewallsClient(options),
    regionOperations: new compute.RegionOperationsClient(options),
    zoneOperations: new compute.ZoneOperationsClient(options),
    globalOperations: new compute.GlobalOperationsClient(options),
  };
}

export type ComputeClients = ReturnType<typeof createClients>;

/** REST transport; an `apiEndpoint` over plain http gets no credentials (the emulator). */
function clientOptions(config: GcpConfig) {
  const common = { fallback: true as const };
  if (!config.apiEndpoint) return common;
  const url = new URL(config.apiEndpoint);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return {
    ...common,
    apiEndpoint: url.hostname,
    port: Number(url.port || (protocol === 'http' ? 80 : 443)),
    protocol,
    ...(protocol === 'http' ? { authClient: new PassThroughClient() } : {}),
  };
}

const callSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `fn` with `signal` guarding every write it makes: once it aborts (the lease is lost) no
 * further write is sent, even one queued behind a throttle. Reads and Operation waits still go.
 */
export function whileSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return callSignal.run(signal, fn);
}

/**
 * A plan in progress (`whilePlanning`): the writes it would have made, and, while one write's
 * request is being built, where the clients put it instead of sending it.
 */
interface Plan {
  readonly changes: PlannedChange[];
  capture?: { method: string; request: Record<string, unknown> };
}

const plans = new AsyncLocalStorage<Plan>();

/**
 * Runs `fn` (the real ensure) with every write answered here instead of sent, and returns the
 * writes in order: a plan that is what ensure does, call for call, not a second model of it.
 */
export async function whilePlanning(fn: () => Promise<unknown>): Promise<PlannedChange[]> {
  const plan: Plan = { changes: [] };
  await plans.run(plan, fn);
  return plan.changes;
}

/** Whether the caller runs inside `whilePlanning`: what a planned write would return is made up. */
export function isPlanning(): boolean {
  return plans.getStore() !== undefined;
}

/** The calls the provider makes, each named `<client>.<method>` for budgets, metrics and logs. */
export class GcpCalls {
  readonly #clients: ComputeClients;
  #planningClients: ComputeClients | undefined;

  constructor(
    clients: ComputeClients,
    readonly gate: CloudCalls,
    readonly project: string,
    readonly region: string,
  ) {
    this.#clients = clients;
  }

  /**
   * The Compute clients. Inside a plan, each method call made while a write builds its request
   * is kept and answered with a finished Operation; reads go to Compute as always.
   */
  get clients(): ComputeClients {
    if (!isPlanning()) return this.#clients;
    return (this.#planningClients ??= capturingClients(this.#clients));
  }

  /** A read; classified errors propagate. Safe to repeat, so the gate retries a transient fault. */
  async read<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return this.gate.call(
      budgetFor(operation),
      operation,
      async () => {
        try {
          return await fn();
        } catch (err) {
          throw classifyGcpError(operation, err);
        }
      },
      // Marked read-only so `kube-lbc plan`'s gate lets it through.
      { idempotent: true, readOnly: true },
    );
  }

  /** A get that answers `undefined` for 404. */
  async get<T>(operation: string, fn: () => Promise<[T, ...unknown[]]>): Promise<T | undefined> {
    try {
      return (await this.read(operation, fn))[0];
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * A write, then its Operation polled with `wait` until DONE; an Operation error throws. One
   * requestId per write: a retry after a throttle or a 5xx is answered with the first
   * Operation instead of being done twice.
   */
  async write(
    operation: string,
    scope: OperationScope,
    fn: (requestId: string) => Promise<[{ latestResponse?: unknown }, ...unknown[]]>,
  ): Promise<void> {
    const signal = callSignal.getStore();
    signal?.throwIfAborted();
    const requestId = randomUUID();
    const plan = plans.getStore();
    if (plan) {
      plan.capture = undefined;
      await fn(requestId);
      const { method, request } = plan.capture ?? { method: '', request: {} };
      plan.changes.push({ operation, description: describeWrite(operation, method, request) });
      return;
    }
    // The same requestId makes a resend safe: GCE answers it with the first Operation.
    const [started] = await this.gate.call(
      budgetFor(operation),
      operation,
      async () => {
        signal?.throwIfAborted();
        try {
          return await fn(requestId);
        } catch (err) {
          throw classifyGcpError(operation, err);
        }
      },
      { idempotent: true },
    );
    let op = started.latestResponse as OperationLike;
    while (op.status !== 'DONE' && op.status !== 3) op = await this.#wait(scope, op.name!);
    const failed = operationError(operation, op);
    if (failed) throw failed;
  }

  /** A write whose 404 means it was already done (a delete of what is gone). */
  async remove(
    operation: string,
    scope: OperationScope,
    fn: (requestId: string) => Promise<[{ latestResponse?: unknown }, ...unknown[]]>,
  ): Promise<void> {
    try {
      await this.write(operation, scope, fn);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  #wait(scope: OperationScope, name: string): Promise<OperationLike> {
    const { clients, project } = this;
    if (scope === 'global') {
      return this.read(
        'globalOperations.wait',
        async () => (await clients.globalOperations.wait({ project, operation: name }))[0],
      );
    }
    if ('zone' in scope) {
      return this.read(
        'zoneOperations.wait',
        async () =>
          (await clients.zoneOperations.wait({ project, zone: scope.zone, operation: name }))[0],
      );
    }
    return this.read(
      'regionOperations.wait',
      async () =>
        (
          await clients.regionOperations.wait({ project, region: scope.region, operation: name })
        )[0],
    );
  }

  /** Nothing to release: the clients are shared (see createClients) and hold no sockets of their own. */
  async close(): Promise<void> {}
}

/** What a planned write answers: an Operation already DONE. */
const finished = [{ latestResponse: { status: 'DONE' } }];

/** The clients, each method keeping its request instead of sending it while a write builds one. */
function capturingClients(clients: ComputeClients): ComputeClients {
  const wrap = <C extends object>(client: C): C =>
    new Proxy(client, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const plan = plans.getStore();
          if (plan && plan.capture === undefined && isWriteMethod(String(prop))) {
            plan.capture = {
              method: String(prop),
              request: (args[0] ?? {}) as Record<string, unknown>,
            };
            return Promise.resolve(finished);
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  return Object.fromEntries(
    Object.entries(clients).map(([key, client]) => [key, wrap(client)]),
  ) as ComputeClients;
}

function isWriteMethod(method: string): boolean {
  return !/^(get|list|aggregatedList|wait|listInstances)/.test(method) && !method.startsWith('_');
}

const kinds: Record<string, string> = {
  addresses: 'address',
  instanceGroups: 'instance group',
  regionHealthChecks: 'health check',
  regionBackendServices: 'backend service',
  forwardingRules: 'forwarding rule',
  firewalls: 'firewall',
};

/** A planned write for a person: `create forwarding rule k8s-...-tcp`, `add 2 instances to ...`. */
function describeWrite(operation: string, method: string, request: Record<string, unknown>) {
  const [client = ''] = operation.split('.');
  const kind = kinds[client] ?? client;
  const body = Object.entries(request).find(([k]) => k.endsWith('Resource'))?.[1] as
    { name?: string; instances?: unknown[] } | undefined;
  const named = Object.entries(request).find(
    ([k, v]) => typeof v === 'string' && !['project', 'region', 'zone', 'requestId'].includes(k),
  )?.[1] as string | undefined;
  const name = body?.name ?? named ?? '';
  const zone = typeof request.zone === 'string' ? ` in ${request.zone}` : '';
  switch (method) {
    case 'insert':
      return `create ${kind} ${name}${zone}`;
    case 'delete':
      return `delete ${kind} ${name}${zone}`;
    case 'patch':
      return `change ${kind} ${name}`;
    case 'addInstances':
      return `add ${body?.instances?.length ?? 0} instances to ${kind} ${name}${zone}`;
    case 'removeInstances':
      return `remove ${body?.instances?.length ?? 0} instances from ${kind} ${name}${zone}`;
    case 'setLabels':
      return `set the labels of ${kind} ${name}`;
    default:
      return `${method} ${kind} ${name}`.trim();
  }
}
