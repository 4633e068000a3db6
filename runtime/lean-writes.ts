/**
 * The writes every Service sync makes (finalizer and NodePort patches, the status patch, Event
 * creates and patches) without the generated client's serializers.
 *
 * For each call the generated CoreV1Api walks the request body and the answer through
 * ObjectSerializer's type map, turning the answer into model classes with Date fields. Measured on
 * kube-apiserver 1.20: that is more than half the CPU of a call. These four methods build the same
 * request (path, headers, credentials, the caller's middleware such as the patch Content-Type),
 * send it on the same transport, and return the server's JSON as it is, as the informers' watches
 * already do: timestamps stay RFC 3339 strings, which every reader here takes (`new Date(x)`,
 * `!= null`). Errors are the same `ApiException`s. Calls with parameters other than name,
 * namespace and body, and every other method, are the generated client's.
 */
import {
  ApiException,
  HttpMethod,
  RequestContext,
  type CoreV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import { transportOf } from './kube-client.js';

type Params = { name?: string; namespace: string; body: unknown } & Record<string, unknown>;
interface Middleware {
  pre(ctx: RequestContext): unknown;
}
type Options = { middleware?: readonly Middleware[] } | undefined;

const LEAN_METHODS = {
  patchNamespacedService: ['PATCH', (p: Params) => `services/${enc(p.name)}`],
  patchNamespacedServiceStatus: ['PATCH', (p: Params) => `services/${enc(p.name)}/status`],
  createNamespacedEvent: ['POST', () => 'events'],
  patchNamespacedEvent: ['PATCH', (p: Params) => `events/${enc(p.name)}`],
} as const;

type LeanMethod = keyof typeof LEAN_METHODS;

/**
 * `core` with its Service and Event writes sent lean over `kc`'s transport; `core` itself when
 * `kc` has none (`reuseConnections` was not applied).
 */
export function withLeanWrites(kc: KubeConfig, core: CoreV1Api): CoreV1Api {
  const transport = transportOf(kc);
  if (!transport) return core;
  const lean = Object.create(core) as CoreV1Api;
  for (const [method, [verb, suffix]] of Object.entries(LEAN_METHODS) as [
    LeanMethod,
    (typeof LEAN_METHODS)[LeanMethod],
  ][]) {
    const generated = (core[method] as (p: Params, o?: Options) => Promise<unknown>).bind(core);
    const send = async (params: Params, options?: Options): Promise<unknown> => {
      if (Object.keys(params).some((k) => k !== 'name' && k !== 'namespace' && k !== 'body'))
        return generated(params, options);
      const server = kc.getCurrentCluster()?.server;
      if (!server) throw new Error('No active cluster!');
      const path = `/api/v1/namespaces/${enc(params.namespace)}/${suffix(params)}`;
      const ctx = new RequestContext(server + path, verb as HttpMethod);
      ctx.setHeaderParam('Accept', 'application/json');
      ctx.setHeaderParam('Content-Type', 'application/json');
      ctx.setBody(JSON.stringify(params.body));
      await kc.applySecurityAuthentication(ctx);
      for (const m of options?.middleware ?? []) {
        const out = m.pre(ctx) as { toPromise?: () => Promise<unknown> } | Promise<unknown>;
        await ('toPromise' in out && out.toPromise ? out.toPromise() : out);
      }
      const res = await transport.send(ctx).toPromise();
      const text = await res.body.text();
      const code = res.httpStatusCode;
      if (code >= 200 && code <= 299) return JSON.parse(text);
      // As the generated client: no body on a 401, the raw text otherwise.
      if (code === 401) throw new ApiException(code, 'Unauthorized', undefined, res.headers);
      throw new ApiException(code, 'Unknown API Status Code!', text, res.headers);
    };
    Object.defineProperty(lean, method, { value: send });
  }
  return lean;
}

function enc(part: string | undefined): string {
  if (part === undefined || part === '') throw new Error('a required name or namespace is missing');
  return encodeURIComponent(part);
}
