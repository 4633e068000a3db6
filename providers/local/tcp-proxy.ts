/**
 * The TCP data path: one listening socket per virtual address:port, each accepted connection
 * relayed both ways to a backend: by the native relay where it is built (native-relay.ts: a
 * thread with splice, no JavaScript per chunk), else in JavaScript (relay.ts: reads into a shared
 * buffer, or `pipe` where this Node does not allow that). Each gives backpressure (a slow reader
 * pauses the fast writer, so nothing buffers beyond a bound) and forwards a half-close, so a
 * client that shuts down its write side still gets the whole response.
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import type { Logger } from '../../contract/logger.js';
import type { Balancer } from './balancer.js';
import { inRanges, ipToInt, unmapIPv4, type IpRange } from './ipv4.js';
import { adoptReads, canAdoptReads, readsTo } from './relay.js';
import { nativeRelay, relayNatively, type NativeFlow } from './native-relay.js';
import { isIPv4 } from 'node:net';
import { ListenerStats, type ListenerSnapshot } from './listener-stats.js';

export interface ListenerLimits {
  /** Open connections (TCP) or flows (UDP) at once; more are refused. */
  readonly maxConnections: number;
  readonly idleTimeoutMs: number;
  /** @default 5000 */
  readonly connectTimeoutMs?: number;
}

export interface ListenerOptions extends ListenerLimits {
  readonly address: string;
  readonly port: number;
  readonly balancer: Balancer;
  readonly logger: Logger;
  /** Empty allows everyone. Read on every accept, so an update applies to the next client. */
  sourceRanges: readonly IpRange[];
}

export interface TcpListenerOptions extends ListenerOptions {
  /**
   * `native` hands connected sockets to the native relay (or, where it is not built, does as
   * `relay`); `relay` reads into a shared buffer in JavaScript where this Node allows it and pipes
   * where not; `pipe` always pipes (tests cover each fallback with these).
   * @default 'native'
   */
  readonly forwarding?: TcpForwarding;
}

export type TcpForwarding = 'native' | 'relay' | 'pipe';

/** What `forwarding` comes to on this machine: `native` only where the relay is built. */
export function effectiveForwarding(forwarding: TcpForwarding = 'native'): TcpForwarding {
  return forwarding === 'native' && !nativeRelay ? 'relay' : forwarding;
}

/** A connection attempt may move to another backend this many times after a refused connect. */
const connectAttempts = 3;

export function sourceAllowed(ranges: readonly IpRange[], remote: string | undefined): boolean {
  if (ranges.length === 0) return true;
  const address = unmapIPv4(remote ?? '');
  return isIPv4(address) && inRanges(ranges, ipToInt(address));
}

interface Flow {
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  /** Set while the native relay owns both sockets' traffic. */
  native: NativeFlow | undefined;
  done: boolean;
}

export interface TcpListenerEvents {
  /** A client connection was refused (source range, limit, or no backend). */
  rejected: [reason: 'source-range' | 'no-backend' | 'limit'];
  /** A proxied connection ended; both sockets are closed. */
  closed: [];
}

export class TcpListener extends EventEmitter<TcpListenerEvents> {
  readonly protocol = 'TCP' as const;
  readonly #options: TcpListenerOptions;
  readonly #server: net.Server;
  readonly #flows = new Set<Flow>();
  readonly #stats = new ListenerStats();
  #closed: Promise<void> | undefined;

  private constructor(options: TcpListenerOptions) {
    super();
    this.#options = options;
    this.on('rejected', (reason) => this.#stats.rejected[reason]++);
    // Paused until a backend is connected: what the client sends meanwhile waits in the kernel.
    this.#server = net.createServer(
      { allowHalfOpen: true, noDelay: true, pauseOnConnect: true },
      (c) => this.#accept(c),
    );
  }

  /** Binds `address:port`; rejects if the address is not local or the port is taken. */
  static async open(options: TcpListenerOptions): Promise<TcpListener> {
    const listener = new TcpListener(options);
    await new Promise<void>((resolve, reject) => {
      listener.#server.once('error', reject);
      listener.#server.listen({ host: options.address, port: options.port }, () => {
        listener.#server.off('error', reject);
        resolve();
      });
    });
    listener.#server.on('error', (err) => options.logger.error({ err }, 'listener failed'));
    return listener;
  }

  get connections(): number {
    return this.#flows.size;
  }

  /** Counters for the metrics; bytes include what open connections have carried so far. */
  snapshot(): ListenerSnapshot {
    let bytesIn = this.#stats.bytesIn;
    let bytesOut = this.#stats.bytesOut;
    for (const flow of this.#flows) {
      bytesIn += flow.client.bytesRead + (flow.native?.bytesIn ?? 0);
      bytesOut += flow.client.bytesWritten + (flow.native?.bytesOut ?? 0);
    }
    const { opened, rejected } = this.#stats;
    return { active: this.#flows.size, opened, bytesIn, bytesOut, rejected: { ...rejected } };
  }

  set sourceRanges(ranges: readonly IpRange[]) {
    this.#options.sourceRanges = ranges;
  }

  /**
   * Stops accepting at once. With `drain`, open connections run on until they end or idle out
   * (the promise does not wait for them); without, they are cut and the promise waits for that.
   */
  async close(drain: boolean): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (drain) return;
    for (const flow of this.#flows) {
      if (flow.native) {
        flow.native.abort();
        continue;
      }
      flow.client.destroy();
      flow.upstream?.destroy();
    }
    await this.#closed;
  }

  #accept(client: net.Socket): void {
    client.on('error', () => {}); // reported through 'close'; an RST from a client is routine
    if (!sourceAllowed(this.#options.sourceRanges, client.remoteAddress)) {
      this.#reject(client, 'source-range');
      return;
    }
    if (this.#flows.size >= this.#options.maxConnections) {
      this.#reject(client, 'limit');
      return;
    }
    const flow: Flow = { client, upstream: undefined, native: undefined, done: false };
    this.#flows.add(flow);
    this.#stats.opened++;
    client.setTimeout(this.#options.idleTimeoutMs, () => client.destroy());
    client.once('close', () => this.#finish(flow));
    this.#connect(flow, connectAttempts);
  }

  #connect(flow: Flow, attemptsLeft: number): void {
    const { client } = flow;
    const backend = this.#options.balancer.acquire({
      clientAddress: unmapIPv4(client.remoteAddress ?? ''),
      destinationAddress: this.#options.address,
    });
    if (!backend) {
      this.emit('rejected', 'no-backend');
      client.destroy();
      return;
    }
    const forwarding = effectiveForwarding(this.#options.forwarding);
    const relay = forwarding !== 'pipe' && canAdoptReads(client);
    const upstream: net.Socket = net.connect({
      host: backend.host,
      port: backend.port,
      allowHalfOpen: true,
      noDelay: true,
      ...(relay && { onread: readsTo(client, () => upstream) }),
    });
    flow.upstream = upstream;
    const connectTimeout = this.#options.connectTimeoutMs ?? 5000;
    upstream.setTimeout(connectTimeout, () => upstream.destroy(new Error('connect timeout')));
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      upstream.setTimeout(this.#options.idleTimeoutMs, () => upstream.destroy());
      if (forwarding === 'native') {
        // Client first: the upstream's 'close' then finds it destroyed and counts the flow out.
        flow.native = relayNatively(client, upstream, this.#options.idleTimeoutMs, () => {
          client.destroy();
          upstream.destroy();
        });
      }
      if (flow.native) {
        // Traffic is the relay thread's now; the sockets only close, when it says so.
      } else if (relay) {
        const toUpstream = readsTo(upstream, () => client);
        adoptReads(client, toUpstream);
        client.once('end', () => upstream.end());
        upstream.once('end', () => client.end());
        client.resume();
        upstream.resume(); // paused where a native hand-off was tried and declined
      } else {
        client.pipe(upstream);
        upstream.pipe(client);
      }
    });
    upstream.on('error', (err) => {
      if (connected || client.destroyed) return;
      this.#options.logger.debug(
        { backend: backend.id, err: err.message },
        'backend connect failed',
      );
      backend.onConnectFailure();
    });
    upstream.once('close', (hadError) => {
      this.#options.balancer.release(backend);
      if (!connected && !client.destroyed) {
        // Retry on another backend: the failed one is now marked unhealthy, so it is skipped.
        flow.upstream = undefined;
        if (attemptsLeft > 1) this.#connect(flow, attemptsLeft - 1);
        else client.destroy();
        return;
      }
      // A clean close has already forwarded its end to the client; let that flush.
      if (flow.native) client.destroy();
      else if (hadError) client.destroy();
      else client.end();
      flow.upstream = undefined;
      this.#finish(flow);
    });
    client.once('close', (hadError) => {
      if (flow.native) upstream.destroy();
      else if (!connected || hadError) upstream.destroy();
      else upstream.end();
    });
  }

  /**
   * Counts a flow out once its client is closed and its upstream's 'close' has given the backend
   * back (it clears `flow.upstream`), so a listener's count never runs ahead of the balancer's.
   */
  #finish(flow: Flow): void {
    if (flow.done || !flow.client.destroyed || flow.upstream) return;
    flow.done = true;
    this.#flows.delete(flow);
    this.#stats.bytesIn += flow.client.bytesRead + (flow.native?.bytesIn ?? 0);
    this.#stats.bytesOut += flow.client.bytesWritten + (flow.native?.bytesOut ?? 0);
    this.emit('closed');
  }

  #reject(client: net.Socket, reason: 'source-range' | 'no-backend' | 'limit'): void {
    this.emit('rejected', reason);
    client.destroy();
  }
}
