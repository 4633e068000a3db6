/**
 * The `CloudCallGate` gate the kit hands to each provider it starts: it records every call in a log
 * shared by all restarts, and can simulate the process dying right after the k-th call has
 * reached the cloud (the cloud acted; the provider never heard back).
 */
import { CloudCallGate } from '../../runtime/cloud-calls.js';

export interface RecordedCall {
  readonly operation: string;
  readonly write: boolean;
}

/** Every call made through any gate of one test, in order. */
export class CallLog {
  readonly #calls: RecordedCall[] = [];
  constructor(readonly isWrite: (operation: string) => boolean) {}

  record(operation: string): void {
    this.#calls.push({ operation, write: this.isWrite(operation) });
  }

  /** A position to compare later calls against. */
  mark(): number {
    return this.#calls.length;
  }

  since(mark: number): RecordedCall[] {
    return this.#calls.slice(mark);
  }

  writesSince(mark: number): string[] {
    return this.since(mark)
      .filter((c) => c.write)
      .map((c) => c.operation);
  }
}

/** Thrown in place of every call from the crash point on. */
export class SimulatedCrash extends Error {
  constructor(readonly afterCalls: number) {
    super(`simulated crash after cloud call ${afterCalls}`);
    this.name = 'SimulatedCrash';
  }
}

export class RecordingCloudCalls extends CloudCallGate {
  readonly #log: CallLog;
  #count = 0;
  #crashAfter = Infinity;
  /** Told after each call the cloud answered, before the provider hears back. */
  afterCall: ((operation: string) => void) | undefined;

  constructor(log: CallLog) {
    super();
    this.#log = log;
  }

  /** Calls made through this gate (one per `call`, whatever the retries inside). */
  get count(): number {
    return this.#count;
  }

  /** From now on, let `calls` more calls through, then fail that one's answer and every call. */
  crashAfter(calls: number): void {
    this.#crashAfter = this.#count + calls;
  }

  override async call<T>(budget: string, operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.#count >= this.#crashAfter) throw new SimulatedCrash(this.#crashAfter);
    this.#count++;
    this.#log.record(operation);
    const result = await super.call(budget, operation, fn);
    this.afterCall?.(operation);
    if (this.#count >= this.#crashAfter) throw new SimulatedCrash(this.#crashAfter);
    return result;
  }
}
