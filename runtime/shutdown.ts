/**
 * Graceful shutdown on SIGTERM/SIGINT: stop taking work, let the registered hooks drain in
 * order within a bound, exit 0. A second signal, or a drain that overruns its bound, exits 1 at
 * once. The bound (25 s) sits under the pod's default 30 s terminationGracePeriodSeconds, so the
 * process ends on its own terms before the kubelet's SIGKILL.
 *
 * The process, exit and timer are injected so tests drive it without signals or waiting.
 */
import { errorMessage } from '../contract/errors.js';
import { noopLogger, type Logger } from '../contract/logger.js';
import { abortableSleep } from './sleep.js';

/** The part of `process` this module uses. */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface ShutdownOptions {
  /** @default process */
  process?: SignalSource;
  /** @default process.exit */
  exit?: (code: number) => void;
  /** How long all hooks together may take. @default 25000 */
  drainTimeoutMs?: number;
  /** @default ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[];
  /** Resolves after `ms`, or early when `signal` aborts. @default timers */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  logger?: Logger;
}

type Hook = { name: string; run: () => unknown };

export class Shutdown {
  readonly #o: Required<Omit<ShutdownOptions, 'logger'>>;
  readonly #log: Logger;
  readonly #stopping = new AbortController();
  readonly #hooks: Hook[] = [];
  readonly #listener = (signal: NodeJS.Signals) => this.#onSignal(signal);
  #done: Promise<number> | undefined;
  #exited = false;

  constructor(options: ShutdownOptions = {}) {
    this.#o = {
      process,
      exit: (code) => process.exit(code),
      drainTimeoutMs: 25_000,
      signals: ['SIGTERM', 'SIGINT'],
      sleep: abortableSleep,
      ...options,
    };
    this.#log = (options.logger ?? noopLogger).child({ component: 'shutdown' });
  }

  /** Aborted when shutdown begins: stop taking new work. */
  get signal(): AbortSignal {
    return this.#stopping.signal;
  }

  /**
   * Adds a step to run on shutdown. Steps run one after another in the order they were added:
   * add the controller's drain before the lease release, and the release before closing the
   * HTTP servers. A step that throws is logged and the next one runs.
   */
  onShutdown(name: string, run: () => unknown): this {
    this.#hooks.push({ name, run });
    return this;
  }

  /** Starts listening for the signals. */
  install(): this {
    for (const s of this.#o.signals) this.#o.process.on(s, this.#listener);
    return this;
  }

  uninstall(): void {
    for (const s of this.#o.signals) this.#o.process.off(s, this.#listener);
  }

  /**
   * Shuts down as a signal would, for reasons of the program's own (leadership lost). Resolves
   * with the exit code once `exit` has been called. `code` is used when the drain completes.
   */
  shutdown(reason: string, code = 0): Promise<number> {
    this.#done ??= this.#drain(reason, code);
    return this.#done;
  }

  #onSignal(signal: NodeJS.Signals): void {
    if (this.#done) {
      this.#log.warn({ signal }, 'second signal: exiting without finishing the drain');
      this.#exit(1);
      return;
    }
    void this.shutdown(`received ${signal}`);
  }

  async #drain(reason: string, code: number): Promise<number> {
    this.#log.info({ reason, drainTimeoutMs: this.#o.drainTimeoutMs }, 'shutting down');
    this.#stopping.abort(new Error(reason));
    const timeUp = new AbortController();
    const steps = this.#runHooks(timeUp.signal).then(() => true);
    const timer = this.#o.sleep(this.#o.drainTimeoutMs, timeUp.signal).then(() => false);
    const finished = await Promise.race([steps, timer]);
    timeUp.abort();
    if (!finished) {
      this.#log.error({ drainTimeoutMs: this.#o.drainTimeoutMs }, 'drain did not finish in time');
      return this.#exit(1);
    }
    this.#log.info('shutdown complete');
    return this.#exit(code);
  }

  async #runHooks(timeUp: AbortSignal): Promise<void> {
    for (const hook of this.#hooks) {
      if (timeUp.aborted) return;
      try {
        await hook.run();
        this.#log.debug({ step: hook.name }, 'shutdown step done');
      } catch (err) {
        this.#log.error({ step: hook.name, err: errorMessage(err) }, 'shutdown step failed');
      }
    }
  }

  #exit(code: number): number {
    if (!this.#exited) {
      this.#exited = true;
      this.uninstall();
      this.#o.exit(code);
    }
    return code;
  }
}
