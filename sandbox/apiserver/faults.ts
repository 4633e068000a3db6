/**
 * Fault injection for tests: answer matching requests with an error or hold them, expire the
 * next watch, drop open watches, refuse connections for a while. Every fault is one call:
 *
 *   api.faults.failNext({ verb: 'update', resource: 'leases' }, { code: 409 });
 *   api.faults.failNext({ resource: 'services', subresource: 'status' }, { code: 429, retryAfterSeconds: 1 }, 3);
 *   api.faults.delayNext({ verb: 'list', resource: 'nodes' }, 500);
 *   api.faults.expireNextWatch('services');
 *   api.faults.dropWatches();
 *   api.faults.stallWatches('services');
 *   await api.faults.refuseConnections(1000);
 */
import {
  ApiError,
  conflict,
  internalError,
  OBJECT_MODIFIED,
  tooManyRequests,
  type StatusReason,
} from './errors.js';
import type { Verb } from './types.js';

/** One request as the audit log and fault matching see it. */
export interface AuditRecord {
  verb: Verb;
  /** '' for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** Which requests a fault applies to: every given field must equal the request's. */
export type RequestMatch = Partial<AuditRecord>;

export interface FaultReply {
  /** The HTTP status: 409 answers a Conflict, 429 TooManyRequests, 500 InternalError; any other a bare Status. */
  code: number;
  /** For 429: the Retry-After header and details.retryAfterSeconds. @default 1 */
  retryAfterSeconds?: number;
  message?: string;
}

interface Rule {
  match: RequestMatch;
  remaining: number;
  reply?: FaultReply;
  delayMs?: number;
}

const REASONS: Record<number, StatusReason> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  410: 'Gone',
  422: 'Invalid',
  504: 'Timeout',
};

export interface FaultHooks {
  dropWatches(abrupt: boolean, resource?: string): number;
  stallWatches(resource?: string): number;
  refuseConnections(ms: number): Promise<void>;
}

export class Faults {
  readonly #rules: Rule[] = [];
  readonly #expiries: { resource?: string; keepOpen: boolean }[] = [];
  readonly #hooks: FaultHooks;

  constructor(hooks: FaultHooks) {
    this.#hooks = hooks;
  }

  /** Answers the next `times` matching requests with `reply` instead of serving them. */
  failNext(match: RequestMatch, reply: FaultReply, times = 1): void {
    this.#rules.push({ match, remaining: times, reply });
  }

  /** Holds the next `times` matching requests for `ms` before serving them. */
  delayNext(match: RequestMatch, ms: number, times = 1): void {
    this.#rules.push({ match, remaining: times, delayMs: ms });
  }

  /**
   * The next watch (of `resource`, when given) gets the ERROR event with a 410 that a too-old
   * resourceVersion gets. The stream then ends, so client-node relists; `keepOpen` leaves it
   * open instead, as the Debian-built 1.20 server was seen doing, where client-node's ListWatch
   * waits without a version until the watch ends.
   */
  expireNextWatch(resource?: string, options: { keepOpen?: boolean } = {}): void {
    this.#expiries.push({ resource, keepOpen: options.keepOpen ?? false });
  }

  /**
   * Open watches (of `resource`, when given) go silent without ending: no event, no bookmark, no
   * timeout, the connection left open, as a connection that died without a FIN (a NAT or load
   * balancer dropping it) looks to a client. Returns how many.
   */
  stallWatches(resource?: string): number {
    return this.#hooks.stallWatches(resource);
  }

  /**
   * Ends every open watch (of `resource`, when given) and returns how many. By default the stream
   * ends cleanly, as a server-side timeout ends it (client-node re-watches from its last
   * version); `abrupt` resets the connections instead (client-node reports an error).
   */
  dropWatches(options: { abrupt?: boolean; resource?: string } = {}): number {
    return this.#hooks.dropWatches(options.abrupt ?? false, options.resource);
  }

  /**
   * Closes the listening socket and every open connection, and listens again on the same port
   * after `ms`. Resolves once it listens again.
   */
  refuseConnections(ms: number): Promise<void> {
    return this.#hooks.refuseConnections(ms);
  }

  /** Faults armed and not yet used up. */
  get pending(): number {
    return this.#rules.reduce((n, r) => n + r.remaining, 0) + this.#expiries.length;
  }

  clear(): void {
    this.#rules.length = 0;
    this.#expiries.length = 0;
  }

  /** Consumes the faults that apply to a request: a delay first, then an error to answer with. */
  take(req: AuditRecord): { delayMs: number; error?: ApiError } {
    let delayMs = 0;
    let error: ApiError | undefined;
    for (const rule of this.#rules) {
      if (rule.remaining <= 0 || !matches(rule.match, req)) continue;
      if (rule.delayMs !== undefined && delayMs === 0) {
        delayMs = rule.delayMs;
        rule.remaining--;
      } else if (rule.reply && !error) {
        error = replyError(rule.reply, req);
        rule.remaining--;
      }
    }
    for (let i = this.#rules.length - 1; i >= 0; i--)
      if (this.#rules[i]!.remaining <= 0) this.#rules.splice(i, 1);
    return { delayMs, error };
  }

  /** The expiry armed for the next watch of `resource`, once. */
  takeExpiry(resource: string): { keepOpen: boolean } | undefined {
    const i = this.#expiries.findIndex((e) => e.resource === undefined || e.resource === resource);
    if (i < 0) return undefined;
    return this.#expiries.splice(i, 1)[0];
  }
}

function matches(match: RequestMatch, req: AuditRecord): boolean {
  return (Object.keys(match) as (keyof AuditRecord)[]).every(
    (k) => match[k] === undefined || match[k] === req[k],
  );
}

function replyError(reply: FaultReply, req: AuditRecord): ApiError {
  const gr = { group: req.group, resource: req.resource };
  switch (reply.code) {
    case 409:
      return conflict(gr, req.name ?? '', reply.message ?? OBJECT_MODIFIED);
    case 429:
      return tooManyRequests(reply.retryAfterSeconds ?? 1, reply.message);
    case 500:
      return internalError(reply.message ?? 'injected fault');
    default:
      return new ApiError(
        reply.code,
        REASONS[reply.code],
        reply.message ?? `injected ${reply.code}`,
      );
  }
}
