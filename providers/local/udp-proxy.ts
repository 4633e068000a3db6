/**
 * The UDP data path: one socket bound on the virtual address:port. Each client address:port is a
 * flow with its own upstream socket (so replies can be told apart and sent back to the right
 * client), its backend chosen once, forgotten after `idleTimeoutMs` without a datagram either way.
 * Datagrams are forwarded as they come: UDP has no backpressure to honour, and a full socket
 * buffer drops, which is what UDP promises. A flow whose backend left the set or failed its
 * health check moves to another backend on its next datagram (there is no connection to drain).
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Backend } from './balancer.js';
import { unmapIPv4, type IpRange } from './ipv4.js';
import { sourceAllowed, type ListenerOptions } from './tcp-proxy.js';

interface UdpFlow {
  readonly backend: Backend;
  readonly upstream: dgram.Socket;
  lastSeen: number;
}
import { ListenerStats, type ListenerSnapshot } from './listener-stats.js';

export interface UdpListenerOptions extends ListenerOptions {
  /** @default Date.now */
  now?: () => number;
  /** How often idle flows are swept. @default min(idleTimeoutMs / 2, 1000) */
  sweepIntervalMs?: number;
}

export interface UdpListenerEvents {
  rejected: [reason: 'source-range' | 'no-backend' | 'limit'];
  /** A flow was forgotten (idle, or its backend left). */
  closed: [];
}

export class UdpListener extends EventEmitter<UdpListenerEvents> {
  readonly protocol = 'UDP' as const;
  readonly #options: UdpListenerOptions;
  readonly #socket: dgram.Socket;
  readonly #flows = new Map<string, UdpFlow>();
  readonly #now: () => number;
  readonly #stats = new ListenerStats();
  #sweeper: NodeJS.Timeout | undefined;

  private constructor(options: UdpListenerOptions) {
    super();
    this.#options = options;
    this.on('rejected', (reason) => this.#stats.rejected[reason]++);
    this.#now = options.now ?? Date.now;
    this.#socket = dgram.createSocket('udp4');
    this.#socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
  }

  static async open(options: UdpListenerOptions): Promise<UdpListener> {
    const listener = new UdpListener(options);
    const socket = listener.#socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: options.address, port: options.port }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (err) => options.logger.error({ err }, 'UDP listener failed'));
    const every = options.sweepIntervalMs ?? Math.min(options.idleTimeoutMs / 2, 1000);
    listener.#sweeper = setInterval(() => listener.sweep(), every);
    listener.#sweeper.unref();
    return listener;
  }

  get connections(): number {
    return this.#flows.size;
  }

  /** Counters for the metrics: flows, and datagram bytes each way. */
  snapshot(): ListenerSnapshot {
    const { opened, bytesIn, bytesOut, rejected } = this.#stats;
    return { active: this.#flows.size, opened, bytesIn, bytesOut, rejected: { ...rejected } };
  }

  set sourceRanges(ranges: readonly IpRange[]) {
    this.#options.sourceRanges = ranges;
  }

  /** Forgets flows idle for `idleTimeoutMs`. */
  sweep(): void {
    const now = this.#now();
    for (const [key, flow] of this.#flows) {
      if (now - flow.lastSeen >= this.#options.idleTimeoutMs) this.#drop(key, flow);
    }
  }

  /**
   * Closes the socket and forgets every flow. There is nothing to drain: replies can only reach
   * clients through the listening socket, so flows end with it.
   */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
    for (const [key, flow] of this.#flows) this.#drop(key, flow);
  }

  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    let flow = this.#flows.get(key);
    if (flow && (flow.backend.draining || !flow.backend.health.healthy)) {
      // Its node left or failed: a client that keeps sending would never idle out, so pick again
      // now, as kube-proxy drops the conntrack entries of a removed UDP endpoint.
      this.#drop(key, flow);
      flow = undefined;
    }
    if (!flow) {
      flow = this.#open(rinfo);
      if (!flow) return;
      this.#flows.set(key, flow);
    }
    flow.lastSeen = this.#now();
    this.#stats.bytesIn += msg.length;
    flow.upstream.send(msg, flow.backend.port, flow.backend.host);
  }

  #open(rinfo: dgram.RemoteInfo): UdpFlow | undefined {
    if (!sourceAllowed(this.#options.sourceRanges, rinfo.address)) {
      this.emit('rejected', 'source-range');
      return undefined;
    }
    if (this.#flows.size >= this.#options.maxConnections) {
      this.emit('rejected', 'limit');
      return undefined;
    }
    const backend = this.#options.balancer.acquire({
      clientAddress: unmapIPv4(rinfo.address),
      destinationAddress: this.#options.address,
    });
    if (!backend) {
      this.emit('rejected', 'no-backend');
      return undefined;
    }
    const upstream = dgram.createSocket('udp4');
    const flow: UdpFlow = { backend, upstream, lastSeen: this.#now() };
    this.#stats.opened++;
    upstream.on('message', (reply, from) => {
      // An unconnected socket hears anyone: pass on only what the backend sent.
      if (from.port !== backend.port || from.address !== backend.host) return;
      flow.lastSeen = this.#now();
      this.#stats.bytesOut += reply.length;
      this.#socket.send(reply, rinfo.port, rinfo.address);
    });
    upstream.on('error', (err) => {
      this.#options.logger.debug({ backend: backend.id, err: err.message }, 'UDP upstream failed');
    });
    return flow;
  }

  #drop(key: string, flow: UdpFlow): void {
    this.#flows.delete(key);
    this.#options.balancer.release(flow.backend);
    flow.upstream.close();
    this.emit('closed');
  }
}
