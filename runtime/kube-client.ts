/**
 * How kube-lbc's clients reach the API server.
 *
 * client-node 1.x builds a new http(s).Agent for every request (KubeConfig.createAgent), so every
 * API call opens a new connection: against a real API server, a TLS handshake per call. This
 * makes one KubeConfig hand out one keep-alive agent per distinct set of agent options, so calls
 * share connections; rotated client certificates change the options and get a new agent.
 *
 * On an `https:` server that speaks HTTP/2 (every kube-apiserver), the API clients the KubeConfig
 * makes and the watches of `watchFor` go further: all of them are streams of one HTTP/2
 * connection (`Http2Transport`), as client-go sends them. Elsewhere they keep client-node's
 * HTTP/1.1 path over the keep-alive agents.
 */
import { STATUS_CODES, type Agent } from 'node:http';
import {
  createConfiguration,
  HttpMethod,
  RequestContext,
  ServerConfiguration,
  Watch,
  type ApiType,
  type Configuration,
  type KubeConfig,
} from '@kubernetes/client-node';
import { IsomorphicFetchHttpLibrary } from '@kubernetes/client-node/dist/gen/http/isomorphic-fetch.js';
import { abortError } from './api-errors.js';
import { Http2Transport } from './http2-transport.js';
import { readLines } from './read-lines.js';

type CreateAgent = (cluster: unknown, agentOptions: Record<string, unknown>) => Agent;
type ApiConstructor<T extends ApiType> = new (config: Configuration) => T;

const transports = new WeakMap<KubeConfig, Http2Transport>();

export function reuseConnections(kc: KubeConfig): KubeConfig {
  if (transports.has(kc)) return kc;
  const transport = new Http2Transport({ fallback: new IsomorphicFetchHttpLibrary() });
  transports.set(kc, transport);
  const target = kc as unknown as {
    createAgent: CreateAgent;
    makeApiClient: <T extends ApiType>(type: ApiConstructor<T>) => T;
  };
  const original = target.createAgent.bind(kc);
  const agents = new Map<string, Agent>();
  target.createAgent = (cluster, agentOptions) => {
    const key = agentKey(cluster, agentOptions);
    let agent = agents.get(key);
    if (!agent) {
      agent = original(cluster, { ...agentOptions, keepAlive: true });
      agents.set(key, agent);
    }
    return agent;
  };
  // As KubeConfig.makeApiClient, with the requests sent by the transport.
  target.makeApiClient = <T extends ApiType>(apiClientType: ApiConstructor<T>): T => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    return new apiClientType(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: kc },
        httpApi: transport,
      }),
    );
  };
  return kc;
}

/**
 * The identity of an agent's options, computed on every request: certificates and keys arrive as
 * Buffers freshly read for each one, which JSON.stringify would spell out byte by byte.
 */
function agentKey(cluster: unknown, agentOptions: Record<string, unknown>): string {
  return JSON.stringify([cluster, agentOptions], function (this: Record<string, unknown>, k, v) {
    const raw = this[k];
    return Buffer.isBuffer(raw) ? `base64:${raw.toString('base64')}` : v;
  });
}

/** The transport `reuseConnections` gave `kc`, if it did (tests, benchmarks). */
export function transportOf(kc: KubeConfig): Http2Transport | undefined {
  return transports.get(kc);
}

/**
 * A client-node `Watch` for `kc`: over its HTTP/2 connection when `reuseConnections` gave it one
 * and the server speaks HTTP/2, else client-node's own. Same contract: `callback` for each event,
 * `done` once (null when the server ended the watch, the error otherwise).
 */
export function watchFor(kc: KubeConfig): Watch {
  const transport = transports.get(kc);
  return transport ? new MultiplexedWatch(kc, transport) : new Watch(kc);
}

type WatchCallback = (phase: string, apiObj: any, watchObj?: any) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
type DoneCallback = (err: any) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

class MultiplexedWatch extends Watch {
  readonly #kc: KubeConfig;
  readonly #transport: Http2Transport;

  constructor(kc: KubeConfig, transport: Http2Transport) {
    super(kc);
    this.#kc = kc;
    this.#transport = transport;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: WatchCallback,
    done: DoneCallback,
  ): Promise<AbortController> {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new Error('No currently active cluster');
    const url = new URL(cluster.server + path);
    url.searchParams.set('watch', 'true');
    for (const [key, val] of Object.entries(queryParams || {}))
      if (val !== undefined) url.searchParams.set(key, String(val));
    const request = new RequestContext(url.toString(), HttpMethod.GET);
    await this.#kc.applySecurityAuthentication(request);

    const controller = new AbortController();
    let opened: Awaited<ReturnType<Http2Transport['open']>>;
    try {
      opened = await this.#transport.open(request);
    } catch (err) {
      done(err);
      return controller;
    }
    if (!opened) return super.watch(path, queryParams, callback, done);
    const { body } = opened;
    let finished = false;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      opened.close();
      done(err);
    };
    controller.signal.addEventListener('abort', () => finish(abortError()));
    if (opened.status !== 200) {
      const err = new Error(STATUS_CODES[opened.status] ?? 'Internal Server Error');
      (err as Error & { statusCode: number }).statusCode = opened.status;
      finish(err);
      return controller;
    }
    readLines(body, (line) => {
      // As client-node's Watch: a line that does not parse, or a handler that throws, is skipped.
      try {
        const data = JSON.parse(line);
        callback(data.type, data.object, data);
      } catch {
        // ignored
      }
    });
    body.once('end', () => finish(null));
    body.once('close', () => finish(null));
    body.once('error', finish);
    return controller;
  }
}
