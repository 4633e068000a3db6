/**
 * API calls and watches over one HTTP/2 connection per API server and set of TLS credentials, as
 * client-go makes them, for requests given as plain values (method, URL, headers, body, TLS).
 * `Http2Transport` (the generated client's adapter, for the commands and benches that use
 * client-node) sends through it; the controller's own `KubeApi` uses `Http1Connections`, whose calls
 * cost a third of the CPU.
 *
 * A multiplexed connection that dies silently (no FIN) would stall every call at once, so the
 * session is pinged every `pingIntervalMs` and closed when a ping goes unanswered for
 * `pingTimeoutMs` (client-go's ReadIdleTimeout and PingTimeout: 30 s and 15 s); calls then open a
 * new one. A request the server refused before reading it (GOAWAY, REFUSED_STREAM, a session
 * closing as the request was made) is sent again once on a new session; anything else fails
 * the call as a dropped HTTP/1.1 connection would.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { abortError } from './api-errors.js';
import type { Http1Request } from './http1-connections.js';
import { connectTls, type TlsIdentity } from './tls-connect.js';

export interface Http2SessionsOptions {
  /** @default 30000 */
  readonly pingIntervalMs?: number;
  /** @default 15000 */
  readonly pingTimeoutMs?: number;
}

export type { TlsIdentity } from './tls-connect.js';

/** The same plain request both clients take. */
export type PlainRequest = Http1Request;

export interface StartedStream {
  readonly stream: ClientHttp2Stream;
  readonly headers: http2.IncomingHttpHeaders;
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

// Flow-control windows as client-go's transport sets them (4 MiB a stream, more for the
// connection), so a large list or a burst of watch events is not paced by window updates.
const STREAM_WINDOW = 4 << 20;
const SESSION_WINDOW = 64 << 20;

interface Entry {
  readonly tls: TlsIdentity;
  /** Resolves to the session, or to undefined when the server does not speak h2. */
  readonly session: Promise<ClientHttp2Session | undefined>;
}

class RetryableStreamError extends Error {}

export class Http2Sessions {
  readonly #pingIntervalMs: number;
  readonly #pingTimeoutMs: number;
  readonly #entries = new Map<string, Entry>();
  /** Origin and credential pairs whose server answered without h2: HTTP/1.1 from then on. */
  readonly #noH2 = new WeakMap<TlsIdentity, Set<string>>();
  #sessionsOpened = 0;

  constructor(options: Http2SessionsOptions = {}) {
    this.#pingIntervalMs = options.pingIntervalMs ?? 30_000;
    this.#pingTimeoutMs = options.pingTimeoutMs ?? 15_000;
  }

  /** How many HTTP/2 connections were opened so far (tests, benchmarks). */
  get sessionsOpened(): number {
    return this.#sessionsOpened;
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

  /**
   * Sends `request` as a stream and resolves once the response headers are in; the caller reads
   * the body. Undefined: the server does not speak h2 (or the URL is not https), so the request
   * must go over HTTP/1.1.
   */
  async start(request: PlainRequest): Promise<StartedStream | undefined> {
    const { url, tls: identity } = request;
    if (url.protocol !== 'https:') return undefined;
    if (this.#noH2.get(identity)?.has(url.origin)) return undefined;
    for (let attempt = 0; ; attempt++) {
      const session = await this.#session(url, identity);
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

  #request(session: ClientHttp2Session, url: URL, request: PlainRequest): Promise<StartedStream> {
    const signal = request.signal;
    if (signal?.aborted) return Promise.reject(abortError());
    const headers: http2.OutgoingHttpHeaders = {
      ':method': request.method,
      ':path': url.pathname + url.search,
    };
    for (const [name, value] of Object.entries(request.headers)) {
      const lower = name.toLowerCase();
      if (!CONNECTION_HEADERS.has(lower)) headers[lower] = value;
    }
    const body = request.body;
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

  #session(url: URL, identity: TlsIdentity): Promise<ClientHttp2Session | undefined> {
    const current = this.#entries.get(url.origin);
    if (current?.tls === identity) return current.session;
    // New credentials (a rotated client certificate) give a new identity: a new connection, and
    // the old one closes once its streams are done.
    if (current)
      void current.session.then(
        (s) => s?.close(),
        () => undefined,
      );
    const session = this.#connect(url, identity.options);
    const entry: Entry = { tls: identity, session };
    this.#entries.set(url.origin, entry);
    session.then(
      (s) => {
        if (s) return;
        let origins = this.#noH2.get(identity);
        if (!origins) this.#noH2.set(identity, (origins = new Set()));
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

  async #connect(url: URL, options: ConnectionOptions): Promise<ClientHttp2Session | undefined> {
    const socket = connectTls(url, options, ['h2', 'http/1.1']);
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

export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    stream.once('error', reject);
    // A stream reset after the headers but before the end (the server gave up) ends here too.
    stream.once('close', () => {
      const code = (stream as Partial<ClientHttp2Stream>).rstCode;
      if (!stream.readableEnded) reject(new Error(`stream closed (code ${code})`));
    });
  });
}

export function closeStream(stream: ClientHttp2Stream): void {
  if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
}
