/**
 * Active health checks of backends. A target is a TCP connect to `host:port`, or for
 * externalTrafficPolicy Local an HTTP GET of `/healthz` on the node's healthCheckNodePort (what
 * kube-proxy answers 200 only while the node has ready endpoints). Targets are shared and
 * reference-counted: every port of a Local Service on one node watches the same `/healthz`.
 *
 * A backend starts healthy (a new Service should work at once), goes down after
 * `unhealthyThreshold` failed checks, or at once when a proxied connect is refused, and comes
 * back after `healthyThreshold` good checks. An unhealthy backend gets no new connections.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { Logger } from '../../contract/logger.js';
import { noopLogger } from '../../contract/logger.js';
import type { HealthState } from './balancer.js';
import type { HealthCheckConfig } from './config.js';

export type HealthTarget =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'http'; readonly host: string; readonly port: number; readonly path: string };

export function healthTargetKey(t: HealthTarget): string {
  return t.kind === 'tcp' ? `tcp://${t.host}:${t.port}` : `http://${t.host}:${t.port}${t.path}`;
}

class TargetState implements HealthState {
  healthy = true;
  users = 1;
  successes = 0;
  failures = 0;
  checking = false;
  timer: NodeJS.Timeout | undefined;
  constructor(readonly target: HealthTarget) {}
}

export interface HealthCheckerEvents {
  /** A target went up or down. */
  change: [key: string, healthy: boolean];
}

export class HealthChecker extends EventEmitter<HealthCheckerEvents> {
  readonly #config: HealthCheckConfig;
  readonly #logger: Logger;
  readonly #targets = new Map<string, TargetState>();
  #closed = false;

  constructor(config: HealthCheckConfig, logger: Logger = noopLogger) {
    super();
    this.#config = config;
    this.#logger = logger.child({ component: 'health' });
  }

  /** Starts (or joins) checking `target`; the returned state's `healthy` stays current. */
  watch(target: HealthTarget): HealthState {
    const key = healthTargetKey(target);
    const existing = this.#targets.get(key);
    if (existing) {
      existing.users++;
      return existing;
    }
    const state = new TargetState(target);
    this.#targets.set(key, state);
    if (!this.#closed) {
      state.timer = setInterval(() => void this.#check(key, state), this.#config.intervalMs);
      state.timer.unref();
    }
    return state;
  }

  /** Stops checking `target` once its last watcher is gone. */
  unwatch(target: HealthTarget): void {
    const key = healthTargetKey(target);
    const state = this.#targets.get(key);
    if (!state || --state.users > 0) return;
    clearInterval(state.timer);
    this.#targets.delete(key);
  }

  /** A proxied connection could not reach the target: take it out now, not after N checks. */
  reportFailure(target: HealthTarget): void {
    const key = healthTargetKey(target);
    const state = this.#targets.get(key);
    if (state) this.#record(key, state, false, true);
  }

  close(): void {
    this.#closed = true;
    for (const state of this.#targets.values()) clearInterval(state.timer);
    this.#targets.clear();
  }

  async #check(key: string, state: TargetState): Promise<void> {
    if (state.checking) return; // a slow check must not pile up behind itself
    state.checking = true;
    const ok = await probe(state.target, this.#config.timeoutMs);
    state.checking = false;
    if (this.#targets.get(key) === state) this.#record(key, state, ok, false);
  }

  #record(key: string, state: TargetState, ok: boolean, immediate: boolean): void {
    if (ok) {
      state.failures = 0;
      state.successes++;
    } else {
      state.successes = 0;
      state.failures++;
    }
    const was = state.healthy;
    if (was && !ok && (immediate || state.failures >= this.#config.unhealthyThreshold)) {
      state.healthy = false;
    } else if (!was && ok && state.successes >= this.#config.healthyThreshold) {
      state.healthy = true;
    }
    if (state.healthy !== was) {
      this.#logger.info({ target: key, healthy: state.healthy }, 'backend health changed');
      this.emit('change', key, state.healthy);
    }
  }
}

/** One check: resolves true or false, never rejects, never outlives `timeoutMs`. */
export function probe(target: HealthTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (target.kind === 'tcp') {
      const socket = net.connect({ host: target.host, port: target.port });
      socket.setTimeout(timeoutMs, () => socket.destroy());
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('close', () => resolve(false));
      socket.once('error', () => {});
      return;
    }
    const req = http.get(
      { host: target.host, port: target.port, path: target.path, agent: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}
