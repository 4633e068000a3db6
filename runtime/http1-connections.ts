/**
 * The controller's API calls over a few keep-alive HTTP/1.1 connections per API server and set of
 * TLS credentials, with the requests written and the responses read here (`ResponseParser`).
 *
 * Why not a library: measured against kube-apiserver 1.20 on Node 20 (2 cores), a call creating
 * an Event costs about 115 us of CPU this way, against 270 us through node:https with a keep-alive
 * agent, 220 us through undici's Pool (which also adds 12-19 MiB of resident memory when loaded)
 * and 350 us through node:http2. A burst of 200 Services makes 1,400 such calls, and the status
 * write each Service waits on came back 3-5 ms sooner. Watches are few and long: each has a
 * connection of its own, closed when the watch ends.
 *
 * At most `maxConnections` calls are in flight per server; more wait their turn, so a burst
 * opens a handful of TLS connections, not one per call. An idle connection is closed after
 * `idleTimeoutMs`, or sooner when the server announces a shorter keep-alive; one the server
 * closed as a call was written to it is tried once more on a new connection (see `#retryable`).
 * A call that hears nothing for `responseTimeoutMs` fails, so a connection that died silently
 * cannot hold it forever.
 */
import net, { type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { abortError } from './api-errors.js';
import { connectTls, type TlsIdentity } from './tls-connect.js';
import { ResponseParser, type ResponseHead } from './http1-parser.js';

export interface Http1ConnectionsOptions {
  /** Calls in flight at once per server and credentials. @default 16 */
  readonly maxConnections?: number;
  /** @default 60000 */
  readonly idleTimeoutMs?: number;
  /** Silence while a call waits for its answer after which it fails. @default 120000 */
  readonly responseTimeoutMs?: number;
}

export interface Http1Request {
  readonly url: URL;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  readonly signal?: AbortSignal;
  readonly tls: TlsIdentity;
}

export interface Http1Response {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export interface Http1Stream {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** The decoded body as it arrives; it ends when the server ends the response. */
  readonly body: Readable;
  /** Ends the stream and its connection. */
  close(): void;
}

/** A request the server refused to read or sent nothing back for on a reused connection. */
class StaleConnectionError extends Error {}

/** Methods safe to send twice: a PATCH here carries a resourceVersion or sets fixed values. */
const REPEATABLE = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

interface Exchange {
  /** Any byte of the response came: the server read the request. */
  answered: boolean;
  head?: ResponseHead;
  onHead(head: ResponseHead): void;
  onData(chunk: Buffer): void;
  onEnd(): void;
  onError(err: Error): void;
}

class Connection {
  readonly socket: Socket;
  /** Responses it has carried: a connection that carried one may have been closed while idle. */
  served = 0;
  /** Set from the server's `Keep-Alive: timeout=N`, in ms. */
  serverIdleMs = Infinity;
  closed = false;
  #exchange: Exchange | undefined;
  #parser: ResponseParser | undefined;

  constructor(socket: Socket, onClose: () => void) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    const close = (err?: Error) => {
      if (this.closed) return;
      this.closed = true;
      socket.destroy();
      const exchange = this.#exchange;
      this.#exchange = undefined;
      if (exchange) {
        try {
          if (!err) this.#parser?.end();
          else throw err;
        } catch (e) {
          exchange.onError(e as Error);
        }
      }
      onClose();
    };
    socket.on('error', close);
    socket.on('end', () => close());
    socket.on('close', () => close(new Error('connection closed')));
    socket.on('timeout', () =>
      close(new Error(`no answer from the API server in ${socket.timeout} ms`)),
    );
  }

  /** Writes the request; the exchange hears the response. */
  send(
    request: Http1Request,
    bytes: string | Buffer,
    exchange: Exchange,
    responseTimeoutMs: number,
  ): void {
    if (this.closed) {
      // Closed as it was handed over: the request was never written.
      queueMicrotask(() => exchange.onError(new Error('connection closed')));
      return;
    }
    this.#exchange = exchange;
    this.#parser = new ResponseParser(
      {
        onHead: (head) => {
          exchange.head = head;
          const hint = /\btimeout=(\d+)/i.exec(head.headers['keep-alive'] ?? '');
          if (hint) this.serverIdleMs = Number(hint[1]) * 1000;
          exchange.onHead(head);
        },
        onData: (chunk) => exchange.onData(chunk),
        onEnd: () => {
          this.#exchange = undefined;
          this.served++;
          exchange.onEnd();
        },
      },
      { noBody: request.method === 'HEAD' },
    );
    this.socket.ref();
    this.socket.setTimeout(responseTimeoutMs);
    this.socket.write(bytes);
  }

  /** Idle until `ms` pass (then closed); an idle connection does not hold the process open. */
  idle(ms: number): void {
    this.socket.setTimeout(ms);
    this.socket.unref();
  }

  destroy(err?: Error): void {
    this.socket.destroy(err);
  }

  #onData(chunk: Buffer): void {
    const exchange = this.#exchange;
    if (!exchange || !this.#parser) {
      // Bytes nobody asked for: the connection can no longer be trusted to frame responses.
      this.destroy(new Error('unexpected bytes from the API server'));
      return;
    }
    exchange.answered = true;
    try {
      this.#parser.push(chunk);
    } catch (err) {
      this.destroy(err as Error);
    }
  }
}

class Pool {
  /** Every open connection, busy or idle. */
  readonly all = new Set<Connection>();
  readonly idle: Connection[] = [];
  readonly waiting: Array<(c: Connection | undefined) => void> = [];
  open = 0;
  draining = false;
}

export class Http1Connections {
  readonly #maxConnections: number;
  readonly #idleTimeoutMs: number;
  readonly #responseTimeoutMs: number;
  /** The pool per origin for its current credentials; a new identity replaces it. */
  readonly #pools = new Map<string, { identity: TlsIdentity; pool: Pool }>();
  readonly #streams = new Set<Connection>();
  #connectionsOpened = 0;
  #closed = false;

  constructor(options: Http1ConnectionsOptions = {}) {
    this.#maxConnections = options.maxConnections ?? 16;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.#responseTimeoutMs = options.responseTimeoutMs ?? 120_000;
  }

  /** How many connections were opened so far (tests, benchmarks). */
  get connectionsOpened(): number {
    return this.#connectionsOpened;
  }

  /** Closes every connection; calls and streams in flight fail. */
  close(): void {
    this.#closed = true;
    for (const { pool } of this.#pools.values()) this.#drain(pool, true);
    this.#pools.clear();
    for (const c of this.#streams) c.destroy(new Error('connections closed'));
  }

  /** Sends `request` and resolves with the whole response. */
  async call(request: Http1Request): Promise<Http1Response> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#callOnce(request, attempt > 0);
      } catch (err) {
        if (!(err instanceof StaleConnectionError) || attempt > 0) throw unwrap(err);
      }
    }
  }

  /** Sends `request` on a connection of its own; resolves once the response's head is in. */
  async stream(request: Http1Request): Promise<Http1Stream> {
    request.signal?.throwIfAborted();
    const bytes = serialize(request);
    const connection = await this.#connect(request.url, request.tls);
    this.#streams.add(connection);
    connection.socket.once('close', () => this.#streams.delete(connection));
    return new Promise((resolve, reject) => {
      const body = new Readable({ read() {} });
      let closed = false;
      const close = () => {
        closed = true;
        connection.destroy();
      };
      const onAbort = () => {
        close();
        reject(abortError());
      };
      request.signal?.addEventListener('abort', onAbort, { once: true });
      const exchange: Exchange = {
        answered: false,
        onHead: (head) => {
          request.signal?.removeEventListener('abort', onAbort);
          resolve({ status: head.status, headers: head.headers, body, close });
        },
        onData: (chunk) => body.push(chunk),
        onEnd: () => {
          body.push(null);
          close();
        },
        onError: (err) => {
          request.signal?.removeEventListener('abort', onAbort);
          if (closed) body.destroy();
          else if (exchange.head) body.destroy(err);
          else reject(err);
        },
      };
      body.once('close', close);
      // No answer timeout: a watch may be quiet for minutes.
      connection.send(request, bytes, exchange, 0);
    });
  }

  async #callOnce(request: Http1Request, fresh: boolean): Promise<Http1Response> {
    request.signal?.throwIfAborted();
    const bytes = serialize(request);
    const pool = this.#pool(request.url, request.tls);
    const connection = await this.#acquire(pool, request, fresh);
    if (request.signal?.aborted) {
      this.#release(pool, connection);
      throw abortError();
    }
    const reused = connection.served > 0;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const onAbort = () => {
        connection.destroy();
        reject(abortError());
      };
      request.signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => request.signal?.removeEventListener('abort', onAbort);
      const exchange: Exchange = {
        answered: false,
        onHead: () => undefined,
        onData: (chunk) => chunks.push(chunk),
        onEnd: () => {
          settle();
          const head = exchange.head!;
          if (head.keepAlive && !pool.draining) this.#release(pool, connection);
          else connection.destroy();
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          resolve({ status: head.status, headers: head.headers, body });
        },
        onError: (err) => {
          settle();
          // A reused connection the server had closed: it never read the request.
          if (reused && !exchange.answered && REPEATABLE.has(request.method.toUpperCase()))
            reject(new StaleConnectionError('stale connection', { cause: err }));
          else reject(err);
        },
      };
      connection.send(request, bytes, exchange, this.#responseTimeoutMs);
    });
  }

  #pool(url: URL, identity: TlsIdentity): Pool {
    const current = this.#pools.get(url.origin);
    if (current?.identity === identity) return current.pool;
    // New credentials (a rotated client certificate): new connections; the old ones close as
    // their calls finish.
    if (current) this.#drain(current.pool, false);
    const pool = new Pool();
    this.#pools.set(url.origin, { identity, pool });
    return pool;
  }

  /** An idle connection, a new one if the pool has room, else the next one released. */
  async #acquire(pool: Pool, request: Http1Request, fresh: boolean): Promise<Connection> {
    if (this.#closed) throw new Error('connections closed');
    if (!fresh) {
      const idle = pool.idle.pop();
      if (idle) return idle;
    }
    if (pool.open >= this.#maxConnections) {
      const next = await new Promise<Connection | undefined>((resolve) =>
        pool.waiting.push(resolve),
      );
      if (this.#closed) {
        next?.destroy();
        throw new Error('connections closed');
      }
      if (next) return next;
      // A connection closed and left room for a new one.
    }
    pool.open++;
    try {
      const connection = await this.#connect(request.url, request.tls, () => {
        pool.open--;
        pool.all.delete(connection);
        const at = pool.idle.indexOf(connection);
        if (at >= 0) pool.idle.splice(at, 1);
        pool.waiting.shift()?.(undefined);
      });
      pool.all.add(connection);
      return connection;
    } catch (err) {
      pool.open--;
      pool.waiting.shift()?.(undefined);
      throw err;
    }
  }

  #release(pool: Pool, connection: Connection): void {
    const next = pool.waiting.shift();
    if (next) return next(connection);
    // Close before the server would, so a call is never written to a connection as it closes.
    const server = connection.serverIdleMs;
    const beforeServer = server > 2000 ? server - 1000 : Math.max(server / 2, 1);
    connection.idle(Math.min(this.#idleTimeoutMs, beforeServer));
    pool.idle.push(connection);
  }

  /** Closes the idle connections, the busy ones as their calls end; `now`: the busy ones too. */
  #drain(pool: Pool, now: boolean): void {
    pool.draining = true;
    for (const c of pool.idle.splice(0)) c.destroy();
    if (!now) return;
    for (const c of pool.all) c.destroy(new Error('connections closed'));
    for (const wake of pool.waiting.splice(0)) wake(undefined);
  }

  #connect(
    url: URL,
    identity: TlsIdentity,
    onClose: () => void = () => undefined,
  ): Promise<Connection> {
    const secure = url.protocol === 'https:';
    const socket = secure
      ? connectTls(url, identity.options, ['http/1.1'])
      : net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80) });
    this.#connectionsOpened++;
    return new Promise((resolve, reject) => {
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        socket.off('error', reject);
        resolve(new Connection(socket, onClose));
      });
      socket.once('error', reject);
    });
  }
}

/** The request's bytes in one write: request line, headers, body. */
function serialize(request: Http1Request): string | Buffer {
  const { url, method, headers, body } = request;
  let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const name in headers) {
    const value = headers[name]!;
    // A CR or LF in a header would let a value write headers of its own.
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value))
      throw new Error(`header "${name.replace(/[\r\n]/g, ' ')}" contains a line break`);
    head += `${name}: ${value}\r\n`;
  }
  if (body === undefined) return head + '\r\n';
  head += `content-length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return typeof body === 'string'
    ? head + body
    : Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

function unwrap(err: unknown): unknown {
  return err instanceof StaleConnectionError ? err.cause : err;
}
