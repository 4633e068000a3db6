/**
 * The Kubernetes API calls the controller makes, sent as JSON over a few keep-alive HTTP/1.1
 * connections (`Http1Connections`: the cheapest way found to make a call from Node), without
 * client-node's generated client.
 *
 * The generated client costs twice: loading it (every model and API group) is 57 MiB of resident
 * memory, and each call walks its body and answer through the serializer's type map, more than
 * half a call's CPU on kube-apiserver 1.20. These methods have the generated ones' names and
 * parameters, so a `CoreV1Api` still fits wherever a `KubeApi` is taken (tests pass one); answers
 * are the server's JSON as it is, timestamps as RFC 3339 strings, which every reader here takes.
 * Failures are client-node's own `ApiException` (its module is loaded alone), so `apiStatus` reads
 * both clients' errors alike.
 */
import { STATUS_CODES } from 'node:http';
import type {
  CoreV1Api,
  CoordinationV1Api,
  CoreV1Event as V1Event,
  V1Lease,
  V1Service,
} from '@kubernetes/client-node';
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
import { accessFromKubeConfig, type ClusterAccess, type KubeConfigLike } from './cluster-access.js';
import { abortError } from './api-errors.js';
import { Http1Connections, type Http1Request, type Http1Stream } from './http1-connections.js';
import { readLines } from './read-lines.js';

/** The calls this client answers: the generated clients' methods of the same names fit it. */
export type CoreCalls = Pick<
  CoreV1Api,
  | 'listServiceForAllNamespaces'
  | 'listNode'
  | 'readNamespacedService'
  | 'patchNamespacedService'
  | 'patchNamespacedServiceStatus'
  | 'createNamespacedEvent'
  | 'patchNamespacedEvent'
>;
export type LeaseCalls = Pick<
  CoordinationV1Api,
  'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
>;

/** As client-node's `Watch.watch`: `callback` per event, `done` once (null: the server ended it). */
export interface Watcher {
  watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void, // eslint-disable-line @typescript-eslint/no-explicit-any
    done: (err: any) => void, // eslint-disable-line @typescript-eslint/no-explicit-any
  ): Promise<AbortController>;
}

interface Middleware {
  pre(ctx: HeaderSink): unknown;
}
/** The generated client's per-call options; only middleware setting headers is honoured here. */
type CallOptions = { middleware?: readonly Middleware[] } | undefined;
interface HeaderSink {
  setHeaderParam(name: string, value: string): void;
}

type Query = Record<string, string | number | boolean | undefined>;
interface ListParams {
  limit?: number;
  _continue?: string;
  resourceVersion?: string;
}

export class KubeApi implements CoreCalls, LeaseCalls, Watcher {
  readonly #access: ClusterAccess;
  readonly #connections: Http1Connections;

  constructor(access: ClusterAccess, connections = new Http1Connections()) {
    this.#access = access;
    this.#connections = connections;
  }

  /** The API server's URL. */
  get server(): string {
    return this.#access.server;
  }

  /** How many connections were opened so far (tests, benchmarks). */
  get connectionsOpened(): number {
    return this.#connections.connectionsOpened;
  }

  /** Closes every connection; calls in flight fail. */
  close(): void {
    this.#connections.close();
  }

  listServiceForAllNamespaces(params: ListParams = {}): Promise<any> {
    return this.#call('GET', '/api/v1/services', listQuery(params)).then(withContinueToken);
  }

  listNode(params: ListParams = {}): Promise<any> {
    return this.#call('GET', '/api/v1/nodes', listQuery(params)).then(withContinueToken);
  }

  readNamespacedService(p: { name: string; namespace: string }): Promise<V1Service> {
    return this.#call('GET', namespaced(p.namespace, 'services', p.name));
  }

  patchNamespacedService(
    p: { name: string; namespace: string; body: object },
    options?: CallOptions,
  ): Promise<V1Service> {
    return this.#call('PATCH', namespaced(p.namespace, 'services', p.name), {}, p.body, options);
  }

  patchNamespacedServiceStatus(
    p: { name: string; namespace: string; body: object },
    options?: CallOptions,
  ): Promise<V1Service> {
    const path = `${namespaced(p.namespace, 'services', p.name)}/status`;
    return this.#call('PATCH', path, {}, p.body, options);
  }

  createNamespacedEvent(p: { namespace: string; body: V1Event }): Promise<V1Event> {
    return this.#call('POST', namespaced(p.namespace, 'events'), {}, p.body);
  }

  patchNamespacedEvent(
    p: { name: string; namespace: string; body: object },
    options?: CallOptions,
  ): Promise<V1Event> {
    return this.#call('PATCH', namespaced(p.namespace, 'events', p.name), {}, p.body, options);
  }

  readNamespacedLease(p: { name: string; namespace: string }): Promise<V1Lease> {
    return this.#call('GET', leasePath(p.namespace, p.name));
  }

  createNamespacedLease(p: { namespace: string; body: V1Lease }): Promise<V1Lease> {
    return this.#call('POST', leasePath(p.namespace), {}, p.body);
  }

  replaceNamespacedLease(p: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease> {
    return this.#call('PUT', leasePath(p.namespace, p.name), {}, p.body);
  }

  async watch(
    path: string,
    queryParams: Query,
    callback: (phase: string, apiObj: any, watchObj?: any) => void, // eslint-disable-line @typescript-eslint/no-explicit-any
    done: (err: any) => void, // eslint-disable-line @typescript-eslint/no-explicit-any
  ): Promise<AbortController> {
    const controller = new AbortController();
    let res: Http1Stream;
    try {
      const request = await this.#request(
        'GET',
        path,
        { ...queryParams, watch: true },
        undefined,
        undefined,
      );
      res = await this.#connections.stream(request);
    } catch (err) {
      done(err);
      return controller;
    }
    let finished = false;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      res.close();
      done(err);
    };
    controller.signal.addEventListener('abort', () => finish(abortError()));
    if (res.status !== 200) {
      const err = new Error(STATUS_CODES[res.status] ?? 'Internal Server Error');
      (err as Error & { statusCode: number }).statusCode = res.status;
      finish(err);
      return controller;
    }
    readLines(res.body, (line) => {
      // As client-node's Watch: a line that does not parse, or a handler that throws, is skipped.
      try {
        const data = JSON.parse(line);
        callback(data.type, data.object, data);
      } catch {
        // ignored
      }
    });
    res.body.once('end', () => finish(null));
    res.body.once('close', () => finish(null));
    res.body.once('error', finish);
    return controller;
  }

  async #call<T>(
    method: string,
    path: string,
    query: Query = {},
    body?: unknown,
    options?: CallOptions,
  ): Promise<T> {
    const res = await this.#connections.call(
      await this.#request(method, path, query, body, options),
    );
    const text = res.body.toString('utf8');
    if (res.status >= 200 && res.status <= 299) return JSON.parse(text) as T;
    // As the generated client: no body on a 401, the raw text otherwise.
    if (res.status === 401) throw new ApiException(401, 'Unauthorized', undefined, res.headers);
    throw new ApiException(res.status, 'Unknown API Status Code!', text, res.headers);
  }

  async #request(
    method: string,
    path: string,
    query: Query,
    body: unknown,
    options: CallOptions,
  ): Promise<Http1Request> {
    const url = new URL(this.#access.server + path);
    for (const [k, v] of Object.entries(query))
      if (v !== undefined) url.searchParams.set(k, `${v}`);
    const credentials = await this.#access.credentials();
    const headers: Record<string, string> = { accept: 'application/json', ...credentials.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    await applyMiddleware(options, headers);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return { url, method, headers, body: payload, tls: credentials.tls };
  }
}

/** Runs the generated client's header middleware (`setHeaderOptions`) onto `headers`. */
async function applyMiddleware(
  options: CallOptions,
  headers: Record<string, string>,
): Promise<void> {
  if (!options?.middleware?.length) return;
  const sink: HeaderSink = {
    setHeaderParam: (name, value) => void (headers[name.toLowerCase()] = value),
  };
  for (const m of options.middleware) {
    const out = m.pre(sink) as { toPromise?: () => Promise<unknown> } | Promise<unknown>;
    await ('toPromise' in out && out.toPromise ? out.toPromise() : out);
  }
}

/**
 * The server names a list's continue token `metadata.continue`; the generated client, and so every
 * caller written against it (`listInPages`), reads it as `_continue`. Without this a paged list
 * stopped after its first page: the informers saw 500 Services of a bigger cluster.
 */
function withContinueToken(list: any): any {
  const token = list?.metadata?.continue;
  if (token) list.metadata._continue = token;
  return list;
}

function listQuery(p: ListParams): Query {
  return { limit: p.limit, continue: p._continue, resourceVersion: p.resourceVersion };
}

function namespaced(namespace: string, resource: string, name?: string): string {
  const base = `/api/v1/namespaces/${enc(namespace)}/${resource}`;
  return name === undefined ? base : `${base}/${enc(name)}`;
}

function leasePath(namespace: string, name?: string): string {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${enc(namespace)}/leases`;
  return name === undefined ? base : `${base}/${enc(name)}`;
}

function enc(part: string | undefined): string {
  if (part === undefined || part === '') throw new Error('a required name or namespace is missing');
  return encodeURIComponent(part);
}

/** A `KubeApi` over a client-node `KubeConfig` (tests, and the commands that hold one). */
export function kubeApiFor(kc: KubeConfigLike): KubeApi {
  return new KubeApi(accessFromKubeConfig(kc));
}
