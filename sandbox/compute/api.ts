/**
 * The REST surface `@google-cloud/compute` calls: `/compute/v1/projects/{project}/{scope}/
 * {collection}[/{name}[/{verb}]]` for the collections below and the three operations
 * collections. Takes a parsed request, answers a status and JSON body; HTTP lives in server.ts.
 */
import { baseResource, checkNotInUse, type Collection } from './collection.js';
import {
  ComputeError,
  conditionNotMet,
  invalidField,
  notFound,
  OperationFailure,
} from './errors.js';
import { operationFailure, refusal, type Faults } from './faults.js';
import { Operations } from './operations.js';
import { addresses } from './resources/addresses.js';
import { firewalls } from './resources/firewalls.js';
import { instanceGroups, instances } from './resources/instances.js';
import { backendServices, forwardingRules, healthChecks } from './resources/load-balancing.js';
import type { ComputeState, Resource, Scope } from './state.js';

export const collections: ReadonlyMap<string, Collection> = new Map(
  [
    addresses,
    instances,
    instanceGroups,
    healthChecks,
    backendServices,
    forwardingRules,
    firewalls,
  ].map((c) => [c.name, c]),
);

/** Seeded, read-only collections the others reference. */
const seededOnly = new Set(['networks', 'subnetworks']);

/** Client names of the scoped collections, for operation labels (`regionHealthChecks.get`). */
const clientName: Record<string, string> = {
  healthChecks: 'regionHealthChecks',
  backendServices: 'regionBackendServices',
};

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: Record<string, unknown>;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: object;
  /** Drop the connection instead of answering (the write, if any, happened). */
  readonly lost?: boolean;
  readonly delayMs?: number;
}

export interface Route {
  readonly scope: Scope;
  readonly collection: string;
  readonly name?: string;
  readonly verb?: string;
  /** `addresses.insert`, `regionOperations.wait`: what faults and logs match on. */
  readonly operation: string;
}

const pathPattern =
  /^\/compute\/v1\/projects\/([^/]+)\/(global|regions\/[^/]+|zones\/[^/]+)\/([A-Za-z]+)(?:\/([^/]+))?(?:\/([A-Za-z]+))?$/;

export function route(method: string, path: string): (Route & { project: string }) | undefined {
  const m = pathPattern.exec(path);
  if (!m) return undefined;
  const [, project, scopePath, collection, name, verb] = m;
  const [kind, scopeName] = scopePath!.split('/');
  const scope = { kind: kind as Scope['kind'], name: scopeName ?? '' };
  const client =
    collection === 'operations'
      ? `${scope.kind === 'global' ? 'global' : scope.kind === 'regions' ? 'region' : 'zone'}Operations`
      : (clientName[collection!] ?? collection!);
  const action =
    verb ??
    (name === undefined
      ? method === 'GET'
        ? 'list'
        : 'insert'
      : (verbOf[method] ?? method.toLowerCase()));
  return {
    project: project!,
    scope,
    collection: collection!,
    ...(name ? { name: decodeURIComponent(name) } : {}),
    ...(verb ? { verb } : {}),
    operation: `${client}.${action}`,
  };
}

const verbOf: Record<string, string> = {
  GET: 'get',
  PATCH: 'patch',
  PUT: 'update',
  DELETE: 'delete',
};

export class ComputeApi {
  readonly operations: Operations;
  /** Every request answered, in order: `{ operation, status }`. */
  readonly log: { operation: string; status: number }[] = [];

  constructor(
    readonly state: ComputeState,
    readonly faults: Faults,
  ) {
    this.operations = new Operations(state);
  }

  handle(req: ApiRequest): ApiAnswer {
    const aggregated = /^\/compute\/v1\/projects\/([^/]+)\/aggregated\/([A-Za-z]+)$/.exec(req.path);
    if (aggregated && req.method === 'GET')
      return this.#aggregated(aggregated[1]!, aggregated[2]!, req.query);
    const r = route(req.method, req.path);
    if (!r) {
      this.log.push({ operation: 'unknown', status: 404 });
      return this.#answer(
        new ComputeError(404, 'notFound', `No such path: ${req.method} ${req.path}`),
      );
    }
    const effects = this.faults.take(r.operation);
    const delayMs = effects.reduce((ms, e) => (e.kind === 'latency' ? ms + e.ms : ms), 0);
    const lost = effects.some((e) => e.kind === 'lost-answer');
    const refused = effects.map(refusal).find((e) => e !== undefined);
    const failure = effects.map(operationFailure).find((e) => e !== undefined);
    let answer: ApiAnswer;
    try {
      if (refused) throw refused;
      if (r.project !== this.state.project) throw notFound(`projects/${r.project}`);
      if (!this.state.knows(r.scope)) throw notFound(this.state.scopePath(r.scope));
      answer = { status: 200, body: this.#dispatch(req, r, failure) };
    } catch (err) {
      answer = this.#answer(err);
    }
    this.log.push({ operation: r.operation, status: answer.status });
    return { ...answer, ...(lost ? { lost } : {}), ...(delayMs ? { delayMs } : {}) };
  }

  /** `aggregatedList`: the collection over every zone (or region), keyed `zones/<zone>`. */
  #aggregated(project: string, collection: string, query: URLSearchParams): ApiAnswer {
    const operation = `${clientName[collection] ?? collection}.aggregatedList`;
    const refused = this.faults
      .take(operation)
      .map(refusal)
      .find((e) => e !== undefined);
    const c = collections.get(collection);
    let answer: ApiAnswer;
    if (refused) answer = this.#answer(refused);
    else if (project !== this.state.project) answer = this.#answer(notFound(`projects/${project}`));
    else if (!c || c.scope === 'global')
      answer = this.#answer(
        new ComputeError(404, 'notFound', `No aggregated list of ${collection}`),
      );
    else {
      const scopes = c.scope === 'zones' ? this.state.zones : [this.state.region];
      const items: Record<string, object> = {};
      for (const name of scopes) {
        const list = this.#list(
          { kind: c.scope, name },
          collection,
          new URLSearchParams(query.get('filter') ? { filter: query.get('filter')! } : {}),
        ) as { items: Resource[] };
        if (list.items.length > 0) items[`${c.scope}/${name}`] = { [collection]: list.items };
      }
      answer = {
        status: 200,
        body: {
          kind: `${c.kind}AggregatedList`,
          id: `projects/${project}/aggregated/${collection}`,
          items,
        },
      };
    }
    this.log.push({ operation, status: answer.status });
    return answer;
  }

  #answer(err: unknown): ApiAnswer {
    const e =
      err instanceof ComputeError
        ? err
        : new ComputeError(500, 'backendError', err instanceof Error ? err.message : String(err));
    return { status: e.status, body: e.body() };
  }

  #dispatch(req: ApiRequest, r: Route, injected: OperationFailure | undefined): object {
    const { scope, collection, name, verb } = r;
    if (collection === 'operations') return this.#operation(req.method, scope, name, verb);
    if (seededOnly.has(collection) && req.method === 'GET') {
      return name === undefined
        ? this.#list(scope, collection, req.query)
        : this.state.mustGet(scope, collection, name);
    }
    const c = collections.get(collection);
    if (!c || c.scope !== scope.kind)
      throw new ComputeError(
        404,
        'notFound',
        `No such collection: ${this.state.scopePath(scope)}/${collection}`,
      );
    const requestId = req.query.get('requestId') ?? undefined;
    const replayed = req.method !== 'GET' ? this.operations.replay(requestId) : undefined;
    if (replayed) return replayed;
    if (name === undefined) {
      if (req.method === 'GET') return this.#list(scope, collection, req.query);
      if (req.method !== 'POST')
        throw new ComputeError(405, 'badRequest', `${req.method} is not allowed here`);
      return this.#write(scope, 'insert', requestId, injected, () => {
        if (c.readOnly) c.create(this.state, scope, req.body, {} as Resource);
        const base = baseResource(this.state, c, scope, req.body);
        if (this.state.get(scope, collection, base.name)) {
          throw new ComputeError(
            409,
            'alreadyExists',
            `The resource '${this.state.path(scope, collection, base.name)}' already exists`,
          );
        }
        const item = c.create(this.state, scope, req.body, base);
        return { item, commit: () => this.state.put(scope, collection, item) };
      });
    }
    const item = this.state.mustGet(scope, collection, name);
    if (verb !== undefined) {
      const v = c.verbs?.[verb];
      if (!v || req.method !== 'POST')
        throw new ComputeError(404, 'notFound', `No such method: ${verb}`);
      if (!v.write) return v.run(this.state, scope, item, req.body)?.read ?? {};
      return this.#write(scope, verb, requestId, injected, () => {
        const copy = structuredClone(item);
        v.run(this.state, scope, copy, req.body);
        return { item, commit: () => this.state.put(scope, collection, copy) };
      });
    }
    switch (req.method) {
      case 'GET':
        return this.#view(c, scope, item);
      case 'PATCH':
        return this.#write(scope, 'patch', requestId, injected, () => {
          const next = this.#patched(c, scope, item, req.body);
          return { item, commit: () => this.state.put(scope, collection, next) };
        });
      case 'DELETE':
        return this.#write(scope, 'delete', requestId, injected, () => {
          checkNotInUse(this.state, collections, item);
          return { item, commit: () => this.state.remove(scope, collection, item.name) };
        });
      default:
        throw new ComputeError(
          405,
          'badRequest',
          `${req.method} is not emulated for ${collection}`,
        );
    }
  }

  /**
   * Runs a write: synchronous refusals (400, 404, 409, 412) throw; an accepted write commits at
   * once and answers with its Operation. A failure while running commits nothing and ends the
   * Operation in error: the emulated quota, or an injected operation error.
   */
  #write(
    scope: Scope,
    operationType: string,
    requestId: string | undefined,
    injected: OperationFailure | undefined,
    plan: () => { item: Resource; commit(): void },
  ): object {
    let failure = injected;
    let target: { link: string; id?: string } = { link: '' };
    try {
      const { item, commit } = plan();
      target = { link: item.selfLink, id: item.id };
      if (!failure) commit();
    } catch (err) {
      if (!(err instanceof OperationFailure)) throw err;
      failure = err;
    }
    return this.operations.start(scope, operationType, target, failure, requestId);
  }

  #patched(c: Collection, scope: Scope, item: Resource, body: Record<string, unknown>): Resource {
    const fields = Object.keys(body).filter((k) => body[k] !== undefined && body[k] !== null);
    if (
      c.fingerprinted &&
      typeof body.fingerprint === 'string' &&
      body.fingerprint !== item.fingerprint
    ) {
      throw conditionNotMet();
    }
    const next = structuredClone(item);
    for (const key of fields) {
      if (
        key === 'fingerprint' ||
        key === 'name' ||
        key === 'kind' ||
        key === 'selfLink' ||
        key === 'id'
      ) {
        if (key === 'name' && body.name !== item.name)
          throw invalidField('resource.name', body.name, 'The name cannot be changed.');
        continue;
      }
      if (!(c.patchable ?? []).includes(key)) {
        if (isEmpty(body[key])) continue;
        throw invalidField(
          `resource.${key}`,
          body[key],
          `The field cannot be changed on an existing ${c.kind.replace('compute#', '')}.`,
        );
      }
      next[key] = body[key];
    }
    c.checkPatched?.(this.state, scope, next);
    if (c.fingerprinted) next.fingerprint = this.state.fingerprint();
    return next;
  }

  #operation(
    method: string,
    scope: Scope,
    name: string | undefined,
    verb: string | undefined,
  ): object {
    if (name === undefined)
      return { kind: 'compute#operationList', items: this.operations.list(scope) };
    if (verb === 'wait' && method === 'POST') return this.operations.wait(scope, name);
    if (verb === undefined && method === 'GET') return this.operations.get(scope, name);
    if (verb === undefined && method === 'DELETE') {
      this.operations.delete(scope, name);
      return {};
    }
    throw new ComputeError(404, 'notFound', `No such method: ${method} operations/${verb ?? ''}`);
  }

  #view(c: Collection | undefined, scope: Scope, item: Resource): Resource {
    return c?.view ? c.view(this.state, scope, item) : item;
  }

  /** Lists with GCE's `filter` (`name eq <RE2>`, `name = "x"`, `name != ...`) and paging. */
  #list(scope: Scope, collection: string, query: URLSearchParams): object {
    const c = collections.get(collection);
    let items = this.state.list(scope, collection).map((i) => this.#view(c, scope, i));
    const filter = query.get('filter');
    if (filter) items = items.filter(matches(filter));
    items.sort((a, b) => a.name.localeCompare(b.name));
    const max = Math.min(Number(query.get('maxResults') ?? 500) || 500, 500);
    const start = Number(query.get('pageToken') ?? 0) || 0;
    const page = items.slice(start, start + max);
    return {
      kind: `${c?.kind ?? 'compute#resource'}List`,
      id: this.state.path(scope, collection),
      items: page,
      selfLink: this.state.link(scope, collection),
      ...(start + max < items.length ? { nextPageToken: String(start + max) } : {}),
    };
  }
}

function isEmpty(v: unknown): boolean {
  return (
    v === '' ||
    v === false ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && v !== null && Object.keys(v).length === 0)
  );
}

function matches(filter: string): (item: Resource) => boolean {
  const m = /^\s*(\w+)\s*(eq|ne|=|!=)\s*"?(.*?)"?\s*$/.exec(filter);
  if (!m)
    throw invalidField(
      'filter',
      filter,
      'The emulator understands `<field> eq|ne <regex>` and `<field> = "<value>"`.',
    );
  const [, field, op, value] = m;
  const test =
    op === 'eq' || op === 'ne'
      ? (v: string) => new RegExp(`^(?:${value})$`).test(v)
      : (v: string) => v === value;
  const negate = op === 'ne' || op === '!=';
  return (item) => test(String(item[field!] ?? '')) !== negate;
}
