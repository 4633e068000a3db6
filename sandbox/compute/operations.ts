/**
 * Compute Engine Operations: every write answers with one, which goes PENDING -> RUNNING -> DONE.
 * The write itself is applied when it is accepted (so a lost answer still leaves it done); the
 * Operation reports it step by step: each `get` moves it one step, `wait` to DONE. A write that
 * failed while running ends DONE with `error` and `httpErrorStatusCode`.
 */
import { notFound, type OperationFailure } from './errors.js';
import type { ComputeState, Resource, Scope } from './state.js';

export type OperationStatus = 'PENDING' | 'RUNNING' | 'DONE';

interface Entry {
  readonly op: Resource;
  readonly failure: OperationFailure | undefined;
}

export class Operations {
  readonly #entries = new Map<string, Entry>();
  /** requestId -> operation name: GCE answers a repeated requestId with the first Operation. */
  readonly #byRequestId = new Map<string, string>();
  #serial = 0;

  constructor(readonly state: ComputeState) {}

  start(
    scope: Scope,
    operationType: string,
    target: { link: string; id?: string },
    failure: OperationFailure | undefined,
    requestId?: string,
  ): Resource {
    const name = `operation-${Date.now()}-${(++this.#serial).toString(16).padStart(8, '0')}`;
    const scopeLink = this.state.scopeLink(scope);
    const op: Resource = {
      kind: 'compute#operation',
      id: this.state.nextId(),
      name,
      operationType,
      targetLink: target.link,
      ...(target.id ? { targetId: target.id } : {}),
      status: 'PENDING',
      progress: 0,
      user: 'kube-lbc-emulator@example.iam.gserviceaccount.com',
      insertTime: new Date().toISOString(),
      selfLink: this.state.link(scope, 'operations', name),
      ...(scopeLink ? { [scope.kind === 'regions' ? 'region' : 'zone']: scopeLink } : {}),
    };
    this.#entries.set(this.#key(scope, name), { op, failure });
    if (requestId) this.#byRequestId.set(requestId, this.#key(scope, name));
    return { ...op };
  }

  /** The Operation an earlier request with this requestId started, if any. */
  replay(requestId: string | undefined): Resource | undefined {
    if (!requestId) return undefined;
    const key = this.#byRequestId.get(requestId);
    const entry = key ? this.#entries.get(key) : undefined;
    return entry ? { ...entry.op } : undefined;
  }

  get(scope: Scope, name: string): Resource {
    const entry = this.#entry(scope, name);
    this.#advance(entry, entry.op.status === 'PENDING' ? 'RUNNING' : 'DONE');
    return { ...entry.op };
  }

  wait(scope: Scope, name: string): Resource {
    const entry = this.#entry(scope, name);
    this.#advance(entry, 'DONE');
    return { ...entry.op };
  }

  delete(scope: Scope, name: string): void {
    this.#entry(scope, name);
    this.#entries.delete(this.#key(scope, name));
  }

  list(scope: Scope): Resource[] {
    const prefix = `${this.state.scopePath(scope)}/`;
    return [...this.#entries].filter(([k]) => k.startsWith(prefix)).map(([, e]) => ({ ...e.op }));
  }

  #advance(entry: Entry, to: OperationStatus): void {
    const op = entry.op;
    if (op.status === 'DONE') return;
    op.status = to;
    op.startTime ??= new Date().toISOString();
    op.progress = to === 'DONE' ? 100 : 50;
    if (to !== 'DONE') return;
    op.endTime = new Date().toISOString();
    if (entry.failure) {
      op.error = { errors: [{ code: entry.failure.code, message: entry.failure.message }] };
      op.httpErrorStatusCode = entry.failure.httpStatus;
      op.httpErrorMessage = httpMessages[entry.failure.httpStatus] ?? 'BAD REQUEST';
    }
  }

  #entry(scope: Scope, name: string): Entry {
    const entry = this.#entries.get(this.#key(scope, name));
    if (!entry) throw notFound(this.state.path(scope, 'operations', name));
    return entry;
  }

  #key(scope: Scope, name: string): string {
    return `${this.state.scopePath(scope)}/${name}`;
  }
}

const httpMessages: Record<number, string> = {
  400: 'BAD REQUEST',
  403: 'FORBIDDEN',
  404: 'NOT FOUND',
  409: 'CONFLICT',
};
