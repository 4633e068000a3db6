/**
 * The data path both modes share: it turns `VirtualServiceSpec`s into listeners, balancers and
 * health checks, changing only what differs. The provider drives it in-process; the proxy agent
 * drives it on edge nodes from its own watch.
 */
import { noopLogger, type Logger } from '../../contract/logger.js';
import { Balancer, type Backend } from './balancer.js';
import type { HealthCheckConfig } from './config.js';
import type { ListenerSnapshot } from './listener-stats.js';
import { HealthChecker, healthTargetKey, type HealthTarget } from './health.js';
import { TcpListener, type TcpForwarding } from './tcp-proxy.js';
import { nativeRelay, nativeRelayProblem } from './native-relay.js';
import { ProviderConfigError } from '../../contract/errors.js';
import type { TcpRelay } from './config.js';
import { UdpListener } from './udp-proxy.js';
import type { VirtualBackend, VirtualServiceSpec } from './virtual-service.js';

export interface DataPathOptions {
  readonly maxConnections: number;
  readonly tcpIdleTimeoutMs: number;
  readonly udpIdleTimeoutMs: number;
  readonly connectTimeoutMs?: number;
  /** Added to every Service port when binding, to serve unprivileged (no port below 1024). */
  readonly listenPortOffset?: number;
  readonly healthCheck: HealthCheckConfig;
  readonly logger?: Logger;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default Math.random */
  readonly random?: () => number;
  /**
   * How TCP bytes move: `native` requires the native relay (the constructor throws a
   * `ProviderConfigError` where it is not available), `js` relays in JavaScript, `auto` takes
   * the native relay where it is built.
   * @default 'auto'
   */
  readonly tcpRelay?: TcpRelay;
}

export type Listener = TcpListener | UdpListener;

export interface ListenerStatsView extends ListenerSnapshot {
  readonly service: string;
  /** `address:port/protocol`. */
  readonly listener: string;
  readonly backends: readonly { readonly id: string; readonly healthy: boolean }[];
}

interface PortState {
  /** `namespace/name`, for the metrics. */
  readonly service: string;
  /** The Service port (before `listenPortOffset`). */
  readonly port: number;
  readonly listener: Listener;
  readonly balancer: Balancer;
  /** Backend id -> the health target it watches. */
  readonly watched: Map<string, HealthTarget>;
}

export class DataPath {
  readonly health: HealthChecker;
  readonly #options: DataPathOptions;
  readonly #logger: Logger;
  readonly #forwarding: TcpForwarding;
  /** Service key -> `address:port/protocol` -> what serves it. */
  readonly #services = new Map<string, Map<string, PortState>>();
  /** Closed TCP listeners whose connections are still draining; cut on shutdown. */
  readonly #draining = new Set<TcpListener>();
  /** The last spec applied in full, per Service, as canonical JSON. */
  readonly #applied = new Map<string, string>();
  /** Applies run one at a time: a listener must never be opened twice for one address. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: DataPathOptions) {
    this.#options = options;
    this.#logger = (options.logger ?? noopLogger).child({ component: 'data-path' });
    const wanted = options.tcpRelay ?? 'auto';
    if (wanted === 'native' && !nativeRelay) {
      throw new ProviderConfigError(
        'tcpRelay',
        `native, but the native relay is ${nativeRelayProblem ?? 'not available'}`,
      );
    }
    this.#forwarding = wanted !== 'js' && nativeRelay ? 'native' : 'relay';
    this.#logger.info(
      this.#forwarding === 'native'
        ? { tcpRelay: 'native' }
        : { tcpRelay: 'js', native: wanted === 'js' ? 'not wanted' : nativeRelayProblem },
      this.#forwarding === 'native'
        ? 'TCP relay: native (epoll and splice on a relay thread)'
        : 'TCP relay: JavaScript',
    );
    this.health = new HealthChecker(options.healthCheck, this.#logger);
  }

  /** Which relay the TCP listeners use: `native` or `relay` (JavaScript). */
  get tcpForwarding(): TcpForwarding {
    return this.#forwarding;
  }

  /** Service keys currently served. */
  get serviceKeys(): readonly string[] {
    return [...this.#services.keys()];
  }

  listener(
    key: string,
    address: string,
    port: number,
    protocol: 'TCP' | 'UDP',
  ): Listener | undefined {
    return this.#services.get(key)?.get(portKey(address, port, protocol))?.listener;
  }

  balancer(
    key: string,
    address: string,
    port: number,
    protocol: 'TCP' | 'UDP',
  ): Balancer | undefined {
    return this.#services.get(key)?.get(portKey(address, port, protocol))?.balancer;
  }

  /** Whether `apply(spec)` would change anything. */
  wouldChange(spec: VirtualServiceSpec): boolean {
    return this.#applied.get(spec.key) !== JSON.stringify(spec);
  }

  /**
   * What is served, by stable attributes (no addresses): the conformance kit's inventory.
   */
  describe(): {
    service: string;
    port: number;
    protocol: string;
    scheduler: string;
    backends: string[];
  }[] {
    const out = [];
    for (const [service, ports] of this.#services) {
      for (const state of ports.values()) {
        out.push({
          service,
          port: state.port,
          protocol: state.listener.protocol,
          scheduler: state.balancer.schedulerName,
          backends: state.balancer.backends.map((b) => `${b.id}*${b.weight}`),
        });
      }
    }
    return out;
  }

  /** Each listener's counters and its backends' health, for the metrics. */
  stats(): ListenerStatsView[] {
    const out: ListenerStatsView[] = [];
    for (const ports of this.#services.values()) {
      for (const [listener, state] of ports) {
        out.push({
          service: state.service,
          listener,
          ...state.listener.snapshot(),
          backends: state.balancer.backends.map((b) => ({
            id: b.id,
            healthy: b.health.healthy && !b.draining,
          })),
        });
      }
    }
    return out;
  }

  /**
   * Serves `spec` exactly: opens missing listeners, drains ones no longer wanted, and updates
   * scheduler, source ranges and backends in place. Applying the same spec twice changes nothing.
   * Throws if a listener cannot bind (address not local, port in use), naming it; the listeners
   * this call opened are closed again, so a Service is never served on only some new ports.
   */
  apply(spec: VirtualServiceSpec): Promise<void> {
    return this.#serially(() => this.#apply(spec));
  }

  /** Stops serving a Service: its listeners close and established connections drain. */
  remove(key: string): Promise<void> {
    return this.#serially(async () => {
      const ports = this.#services.get(key);
      if (!ports) return;
      for (const [name, state] of ports) await this.#closePort(ports, name, state, true);
      this.#services.delete(key);
      this.#applied.delete(key);
    });
  }

  /** Shutdown: every listener and connection closed, every timer stopped. */
  close(): Promise<void> {
    return this.#serially(async () => {
      for (const ports of this.#services.values()) {
        for (const [name, state] of ports) await this.#closePort(ports, name, state, false);
      }
      this.#services.clear();
      this.#applied.clear();
      for (const listener of this.#draining) await listener.close(false);
      this.#draining.clear();
      this.health.close();
    });
  }

  async #apply(spec: VirtualServiceSpec): Promise<void> {
    this.#applied.delete(spec.key);
    let ports = this.#services.get(spec.key);
    if (!ports) this.#services.set(spec.key, (ports = new Map()));
    const wanted = new Map(spec.ports.map((p) => [portKey(spec.address, p.port, p.protocol), p]));
    for (const [name, state] of ports) {
      if (!wanted.has(name)) await this.#closePort(ports, name, state, true);
    }
    // A port that cannot bind undoes the ports this apply opened: a Service is served on all its
    // ports or on none of the new ones, never half (port 80 bound, 8080 taken).
    const opened: string[] = [];
    for (const [name, port] of wanted) {
      let state = ports.get(name);
      if (!state) {
        try {
          state = await this.#openPort(spec, port.port, port.protocol);
        } catch (err) {
          for (const undo of opened) await this.#closePort(ports, undo, ports.get(undo)!, false);
          if (ports.size === 0) this.#services.delete(spec.key);
          const code = (err as NodeJS.ErrnoException).code;
          throw Object.assign(
            new Error(
              `cannot listen on ${name}${code === 'EADDRINUSE' ? ': the port is already in use on this address (by another Service, or another process on this host)' : ''}: ${(err as Error).message}`,
              { cause: err },
            ),
            { code },
          );
        }
        ports.set(name, state);
        opened.push(name);
        this.#logger.info(
          { service: spec.name, listener: name, scheduler: spec.scheduler },
          'listening',
        );
      }
      state.balancer.configure({
        scheduler: spec.scheduler,
        affinityTimeoutMs: spec.affinityTimeoutMs,
      });
      state.listener.sourceRanges = spec.sourceRanges;
      this.#setBackends(state, port.backends);
    }
    this.#applied.set(spec.key, JSON.stringify(spec));
  }

  async #openPort(
    spec: VirtualServiceSpec,
    port: number,
    protocol: 'TCP' | 'UDP',
  ): Promise<PortState> {
    const balancer = new Balancer({
      scheduler: spec.scheduler,
      affinityTimeoutMs: spec.affinityTimeoutMs,
      now: this.#options.now,
      random: this.#options.random,
    });
    const common = {
      address: spec.address,
      port: port + (this.#options.listenPortOffset ?? 0),
      balancer,
      sourceRanges: spec.sourceRanges,
      maxConnections: this.#options.maxConnections,
      connectTimeoutMs: this.#options.connectTimeoutMs,
      logger: this.#logger.child({
        service: spec.name,
        listener: `${spec.address}:${port}/${protocol}`,
      }),
    };
    const listener =
      protocol === 'TCP'
        ? await TcpListener.open({
            ...common,
            idleTimeoutMs: this.#options.tcpIdleTimeoutMs,
            forwarding: this.#forwarding,
          })
        : await UdpListener.open({
            ...common,
            idleTimeoutMs: this.#options.udpIdleTimeoutMs,
            now: this.#options.now,
          });
    return { service: spec.name, port, listener, balancer, watched: new Map() };
  }

  #setBackends(state: PortState, backends: readonly VirtualBackend[]): void {
    const { added, removed } = state.balancer.setBackends(backends);
    for (const b of removed) this.#unwatch(state, b);
    const byId = new Map(backends.map((b) => [`${b.host}:${b.port}`, b]));
    for (const backend of state.balancer.backends) {
      const target = byId.get(backend.id)?.health;
      const before = state.watched.get(backend.id);
      const changed = added.includes(backend) || keyOf(before) !== keyOf(target);
      if (!changed) continue;
      this.#unwatch(state, backend);
      if (!target) continue;
      state.watched.set(backend.id, target);
      backend.health = this.health.watch(target);
      backend.onConnectFailure = () => this.health.reportFailure(target);
    }
  }

  #unwatch(state: PortState, backend: Backend): void {
    const target = state.watched.get(backend.id);
    if (!target) return;
    state.watched.delete(backend.id);
    this.health.unwatch(target);
  }

  async #closePort(
    ports: Map<string, PortState>,
    name: string,
    state: PortState,
    drain: boolean,
  ): Promise<void> {
    ports.delete(name);
    for (const backend of state.balancer.backends) this.#unwatch(state, backend);
    const { listener } = state;
    if (listener instanceof TcpListener) {
      await listener.close(drain);
      if (drain && listener.connections > 0) {
        this.#draining.add(listener);
        listener.on('closed', () => {
          if (listener.connections === 0) this.#draining.delete(listener);
        });
      }
    } else await listener.close();
    this.#logger.info({ listener: name, drain }, 'listener closed');
  }

  #serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }
}

function portKey(address: string, port: number, protocol: string): string {
  return `${address}:${port}/${protocol}`;
}

function keyOf(target: HealthTarget | undefined): string | undefined {
  return target && healthTargetKey(target);
}
