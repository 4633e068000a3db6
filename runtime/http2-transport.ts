/**
 * The generated client's requests over `Http2Sessions`: an `HttpLibrary` for client-node 1.x.
 *
 * client-node 1.x sends every call through node-fetch over HTTP/1.1: a burst of N concurrent
 * writes opens N TLS connections, and each call pays for node-fetch's streams and header classes.
 * Measured against a real kube-apiserver 1.20 on loopback, 1,500 Event creates 50 at a time: 810
 * µs of CPU a call through client-node, 420 µs with node:https on a keep-alive agent, 300 µs over
 * one node:http2 session. So for an `https:` server reached without a proxy, this library sends
 * the generated client's requests (and watches) as streams of one HTTP/2 session, with the TLS
 * options and credentials client-node put on the request. A server that does not offer `h2` in
 * ALPN, a plain `http:` server (the API emulator), and a proxy all keep client-node's own HTTP/1.1
 * path. The controller itself does not use the generated client (see `KubeApi`); the `plan` and
 * `release` commands and tests do.
 */
import https from 'node:https';
import {
  Observable,
  ResponseContext,
  type HttpLibrary,
  type RequestContext,
} from '@kubernetes/client-node';
import {
  Http2Sessions,
  readAll,
  closeStream,
  type Http2SessionsOptions,
  type PlainRequest,
  type StartedStream,
} from './http2-sessions.js';

export interface Http2TransportOptions extends Http2SessionsOptions {
  /** The library for requests this one does not carry (no TLS, a proxy, no h2 offered). */
  readonly fallback: HttpLibrary;
}

/** A watch's response: its status, and, when 200, its body as text. */
export interface OpenStream {
  readonly status: number;
  readonly body: StartedStream['stream'];
  close(): void;
}

export class Http2Transport implements HttpLibrary {
  readonly #fallback: HttpLibrary;
  readonly #sessions: Http2Sessions;

  constructor(options: Http2TransportOptions) {
    this.#fallback = options.fallback;
    this.#sessions = new Http2Sessions(options);
  }

  /** How many HTTP/2 connections were opened so far (tests, benchmarks). */
  get sessionsOpened(): number {
    return this.#sessions.sessionsOpened;
  }

  send(request: RequestContext): Observable<ResponseContext> {
    return new Observable(this.#send(request));
  }

  /**
   * Opens `request` as a stream and resolves with its status once the response headers are in,
   * for a caller that reads the body as it comes (a watch). Undefined: this request goes over
   * HTTP/1.1 (see `send`'s fallback), the caller must send it another way.
   */
  async open(request: RequestContext): Promise<OpenStream | undefined> {
    const started = await this.#start(request);
    if (!started) return undefined;
    const { stream, headers } = started;
    return { status: Number(headers[':status']), body: stream, close: () => closeStream(stream) };
  }

  /** Closes every session; calls in flight fail. */
  close(): void {
    this.#sessions.close();
  }

  async #send(request: RequestContext): Promise<ResponseContext> {
    const started = await this.#start(request);
    if (!started) return this.#fallback.send(request).toPromise();
    const { stream, headers } = started;
    const body = await readAll(stream);
    const plain: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith(':') || value === undefined) continue;
      plain[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    return new ResponseContext(Number(headers[':status']), plain, {
      text: async () => body.toString('utf8'),
      binary: async () => body,
    });
  }

  #start(request: RequestContext): Promise<StartedStream | undefined> {
    const agent = request.getAgent();
    // A proxy agent is an https.Agent subclass: it keeps client-node's HTTP/1.1 path.
    if (!isPlainHttpsAgent(agent)) return Promise.resolve(undefined);
    const plain: PlainRequest = {
      url: new URL(request.getUrl()),
      method: request.getHttpMethod(),
      headers: request.getHeaders(),
      body: request.getBody() as string | Buffer | undefined,
      signal: request.getSignal(),
      // The agent's identity is its credentials': a new agent (rotated certificate) is new TLS.
      tls: agent as https.Agent & { options: Record<string, unknown> },
    };
    return this.#sessions.start(plain);
  }
}

function isPlainHttpsAgent(agent: unknown): agent is https.Agent {
  return agent instanceof https.Agent && Object.getPrototypeOf(agent) === https.Agent.prototype;
}
