/**
 * API calls and watches over one HTTP/2 connection per API server, as client-go makes them.
 *
 * client-node 1.x sends every call through node-fetch over HTTP/1.1: a burst of N concurrent
 * writes opens N TLS connections, and each call pays for node-fetch's streams and header classes.
 * Measured against a real kube-apiserver 1.20 on loopback, 1,500 Event creates 50 at a time: 810
 * µs of CPU a call through client-node, 420 µs with node:https on a keep-alive agent, 300 µs over
 * one node:http2 session. So for an `https:` server reached without a proxy, this library sends
 * the generated client's requests (and the informers' watches) as streams of one HTTP/2 session,
 * with the TLS options and credentials client-node put on the request. A server that does not
 * offer `h2` in ALPN, a plain `http:` server (the API emulator), and a proxy all keep client-node's
 * own HTTP/1.1 path.
 *
 * A multiplexed connection that dies silently (no FIN) would stall every call at once, so the
 * session is pinged every `pingIntervalMs` and closed when a ping goes unanswered for
 * `pingTimeoutMs` (client-go's ReadIdleTimeout and PingTimeout: 30 s and 15 s); calls then open a
 * new one. A request the server refused before reading it (GOAWAY, REFUSED_STREAM, a session
 * closing as the request was made) is sent again once on a new session; anything else fails
 * the call as a dropped HTTP/1.1 connection would.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import https from 'node:https';
import { isIP } from 'node:net';
import tls, { type ConnectionOptions } from 'node:tls';
import {
  Observable,
  ResponseContext,
  type HttpLibrary,
  type RequestContext,
} from '@kubernetes/client-node';

export interface Http2TransportOptions {
  /** The library for requests this one does not carry (no TLS, a proxy, no h2 offered). */
  readonly fallback: HttpLibrary;
  /** @default 30000 */
  readonly pingIntervalMs?: number;
  /** @default 15000 */
  readonly pingTimeoutMs?: number;
}

/** A watch's response: its status, and, when 200, its body as text. */
export interface OpenStream {
  readonly status: number;
  readonly body: ClientHttp2Stream;
  close(): void;
}

// What a connection may carry in HTTP/1.1 but HTTP/2 forbids (RFC 9113 8.2.2).
const CONNECTION_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
]);

// The TLS settings client-node's KubeConfig puts on the agent it hands each request.
const TLS_KEYS = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'rejectUnauthorized',
  'servername',
  'ciphers',
  'honorCipherOrder',
  'ecdhCurve',
  'crl',
  'dhparam',
  'secureOptions',
  'secureProtocol',
  'sessionIdContext',
] as const;

// Flow-control windows as client-go's transport sets them (4 MiB a stream, more for the
// connection), so a large list or a burst of watch events is not paced by window updates.
const STREAM_WINDOW = 4 << 20;
const SESSION_WINDOW = 64 << 20;

interface Entry {
  readonly agent: https.Agent;
  /** Resolves to the session, or to undefined when the server does not speak h2. */
  readonly session: Promise<ClientHttp2Session | undefined>;
}

class RetryableStreamError extends Error {}

export class Http2Transport implements HttpLibrary {
  readonly #fallback: HttpLibrary;
  readonly #pingIntervalMs: number;
  readonly #pingTimeoutMs: number;
  readonly #entries = new Map<string, Entry>();
  /** Origin and agent pairs whose server answered without h2: HTTP/1.1 from then on. */
  readonly #noH2 = new WeakMap<https.Agent, Set<string>>();
  #sessionsOpened = 0;

  constructor(options: Http2TransportOptions) {
    this.#fallback = options.fallback;
    this.#pingIntervalMs = options.pingIntervalMs ?? 30_000;
    this.#pingTimeoutMs = options.pingTimeoutMs ?? 15_000;
  }

  /** How many HTTP/2 connections were opened so far (tests, benchmarks). */
  get sessionsOpened(): number {
    return this.#sessionsOpened;
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
    for (const entry of this.#entries.values())
      void entry.session.then(
        (s) => s?.destroy(),
        () => undefined,
      );
    this.#entries.clear();
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

  async #start(
    request: RequestContext,
  ): Promise<{ stream: ClientHttp2Stream; headers: http2.IncomingHttpHeaders } | undefined> {
    const url = new URL(request.getUrl());
    const agent = request.getAgent();
    if (url.protocol !== 'https:' || !isPlainHttpsAgent(agent)) return undefined;
    if (this.#noH2.get(agent)?.has(url.origin)) return undefined;
    for (let attempt = 0; ; attempt++) {
      const session = await this.#session(url, agent);
      if (!session) return undefined;
      try {
        return await this.#request(session, url, request);
      } catch (err) {
        if (!(err instanceof RetryableStreamError)) throw err;
        if (attempt > 0) throw err.cause;
        this.#forget(url.origin, session);
      }
    }
  }

  #request(
    session: ClientHttp2Session,
    url: URL,
    request: RequestContext,
  ): Promise<{ stream: ClientHttp2Stream; headers: http2.IncomingHttpHeaders }> {
    const signal = request.getSignal();
    if (signal?.aborted) return Promise.reject(abortError());
    const headers: http2.OutgoingHttpHeaders = {
      ':method': request.getHttpMethod(),
      ':path': url.pathname + url.search,
    };
    for (const [name, value] of Object.entries(request.getHeaders())) {
      const lower = name.toLowerCase();
      if (!CONNECTION_HEADERS.has(lower)) headers[lower] = value;
    }
    const body = request.getBody() as string | Buffer | undefined;
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: body === undefined });
    } catch (err) {
      // The session closed between our lookup and this call (GOAWAY, a dead connection).
      throw new RetryableStreamError('session unusable', { cause: err });
    }
    if (body !== undefined) stream.end(body);
    holdOpen(session, stream);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        closeStream(stream);
        reject(abortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      stream.once('response', (responseHeaders) => {
        signal?.removeEventListener('abort', onAbort);
        stream.off('error', onError);
        // Errors after the headers belong to whoever reads the body.
        stream.on('error', () => undefined);
        resolve({ stream, headers: responseHeaders });
      });
      const onError = (err: Error & { code?: string }) => {
        signal?.removeEventListener('abort', onAbort);
        // Refused streams were never processed by the server: safe to send again.
        const refused =
          stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ||
          err.code === 'ERR_HTTP2_GOAWAY_SESSION' ||
          err.code === 'ERR_HTTP2_INVALID_SESSION';
        reject(refused ? new RetryableStreamError('stream refused', { cause: err }) : err);
      };
      stream.once('error', onError);
    });
  }

  #session(url: URL, agent: https.Agent): Promise<ClientHttp2Session | undefined> {
    const current = this.#entries.get(url.origin);
    if (current?.agent === agent) return current.session;
    // New credentials (a rotated client certificate) give a new agent: a new connection, and
    // the old one closes once its streams are done.
    if (current)
      void current.session.then(
        (s) => s?.close(),
        () => undefined,
      );
    const session = this.#connect(url, agent);
    const entry: Entry = { agent, session };
    this.#entries.set(url.origin, entry);
    session.then(
      (s) => {
        if (s) return;
        let origins = this.#noH2.get(agent);
        if (!origins) this.#noH2.set(agent, (origins = new Set()));
        origins.add(url.origin);
        if (this.#entries.get(url.origin) === entry) this.#entries.delete(url.origin);
      },
      () => {
        if (this.#entries.get(url.origin) === entry) this.#entries.delete(url.origin);
      },
    );
    return session;
  }

  #forget(origin: string, session: ClientHttp2Session): void {
    const entry = this.#entries.get(origin);
    if (!entry) return;
    void entry.session.then((s) => {
      if (s === session && this.#entries.get(origin) === entry) this.#entries.delete(origin);
    });
  }

  async #connect(url: URL, agent: https.Agent): Promise<ClientHttp2Session | undefined> {
    const options = (agent as https.Agent & { options: Record<string, unknown> }).options ?? {};
    const tlsOptions: ConnectionOptions = {};
    for (const key of TLS_KEYS)
      if (options[key] !== undefined) (tlsOptions as Record<string, unknown>)[key] = options[key];
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket = tls.connect({
      ...tlsOptions,
      host,
      port: Number(url.port || 443),
      servername: tlsOptions.servername ?? (isIP(host) ? undefined : host),
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        resolve();
      });
      socket.once('error', reject);
    });
    if (socket.alpnProtocol !== 'h2') {
      socket.destroy();
      return undefined;
    }
    this.#sessionsOpened++;
    const session = http2.connect(url.origin, {
      createConnection: () => socket,
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW },
    });
    session.setLocalWindowSize(SESSION_WINDOW);
    // An idle session does not hold the process open, as an idle keep-alive socket does not.
    session.unref();
    session.on('error', () => undefined); // each stream sees its own error
    const origin = url.origin;
    const drop = () => this.#forget(origin, session);
    session.once('goaway', drop);
    session.once('close', drop);
    this.#keepAlive(session);
    return session;
  }

  /** Pings the server every interval; an unanswered ping ends the session. */
  #keepAlive(session: ClientHttp2Session): void {
    let deadline: NodeJS.Timeout | undefined;
    const interval = setInterval(() => {
      if (session.destroyed || deadline) return;
      deadline = setTimeout(() => {
        session.destroy(new Error(`no answer to an HTTP/2 ping in ${this.#pingTimeoutMs} ms`));
      }, this.#pingTimeoutMs);
      deadline.unref();
      const sent = session.ping((err) => {
        clearTimeout(deadline);
        deadline = undefined;
        if (err && !session.destroyed) session.destroy(err);
      });
      if (!sent) {
        clearTimeout(deadline);
        deadline = undefined;
      }
    }, this.#pingIntervalMs);
    interval.unref();
    session.once('close', () => {
      clearInterval(interval);
      clearTimeout(deadline);
    });
  }
}

function isPlainHttpsAgent(agent: unknown): agent is https.Agent {
  // A proxy agent is an https.Agent subclass: it keeps client-node's HTTP/1.1 path.
  return agent instanceof https.Agent && Object.getPrototypeOf(agent) === https.Agent.prototype;
}

const activeStreams = new WeakMap<ClientHttp2Session, number>();

/** A session holds the process open while it carries a stream, as a socket with a request does. */
function holdOpen(session: ClientHttp2Session, stream: ClientHttp2Stream): void {
  const active = (activeStreams.get(session) ?? 0) + 1;
  activeStreams.set(session, active);
  if (active === 1) session.ref();
  stream.once('close', () => {
    const left = (activeStreams.get(session) ?? 1) - 1;
    activeStreams.set(session, left);
    if (left === 0 && !session.destroyed) session.unref();
  });
}

function readAll(stream: ClientHttp2Stream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    stream.once('error', reject);
    // A stream reset after the headers but before the end (the server gave up) ends here too.
    stream.once('close', () => {
      if (!stream.readableEnded) reject(new Error(`stream closed (code ${stream.rstCode})`));
    });
  });
}

function closeStream(stream: ClientHttp2Stream): void {
  if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
}

function abortError(): Error {
  const err = new Error('The user aborted a request.');
  err.name = 'AbortError';
  return err;
}
