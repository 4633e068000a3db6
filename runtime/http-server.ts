/**
 * The HTTP endpoints an operator and the kubelet talk to: `/metrics` on `--metrics-bind-address`,
 * `/healthz` and `/readyz` on `--health-probe-bind-address` (one server when both are the same).
 *
 * Health and readiness are named checks, answered the way kube-apiserver's healthz package
 * answers: `ok`, or a 500 listing `[+]name ok` / `[-]name failed: reason`; `?verbose` lists every
 * check when all pass, `?exclude=name` skips one, `/healthz/<name>` runs one.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { errorMessage } from '../contract/errors.js';
import { noopLogger, type Logger } from '../contract/logger.js';

/**
 * A check passes unless it throws or rejects. A returned string is shown after `ok` in verbose
 * output (`[+]leader-election ok: standby`).
 */
export type Check = () => void | string | Promise<void | string>;

type Kind = 'healthz' | 'readyz';

/** The named checks behind `/healthz` (liveness) and `/readyz` (readiness). */
export class HealthChecks {
  readonly #checks: Record<Kind, Map<string, Check>> = {
    healthz: new Map([['ping', () => {}]]),
    readyz: new Map([['ping', () => {}]]),
  };

  /** A failing liveness check gets the container restarted: only for a stuck process. */
  addHealthCheck(name: string, check: Check): void {
    this.#add('healthz', name, check);
  }

  /** A failing readiness check takes the pod out of rotation (and out of a PDB's healthy count). */
  addReadyCheck(name: string, check: Check): void {
    this.#add('readyz', name, check);
  }

  async run(kind: Kind, only?: string, exclude: readonly string[] = []): Promise<CheckResult[]> {
    const picked = [...this.#checks[kind]].filter(
      ([name]) => (only === undefined || name === only) && !exclude.includes(name),
    );
    return Promise.all(
      picked.map(async ([name, check]): Promise<CheckResult> => {
        try {
          const detail = await check();
          return { name, ok: true, detail: detail || undefined };
        } catch (err) {
          return { name, ok: false, detail: errorMessage(err) };
        }
      }),
    );
  }

  has(kind: Kind, name: string): boolean {
    return this.#checks[kind].has(name);
  }

  #add(kind: Kind, name: string, check: Check): void {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name))
      throw new TypeError(`check name "${name}" must be a lowercase DNS label`);
    if (this.#checks[kind].has(name))
      throw new TypeError(`${kind} check "${name}" is already registered`);
    this.#checks[kind].set(name, check);
  }
}

export interface CheckResult {
  name: string;
  ok: boolean;
  detail?: string;
}

/** What the leader elector offers its checks; a `LeaderElector` fits. */
export interface LeaderStatus {
  isLeader(): boolean;
  getLeader(): string | undefined;
  healthCheck(toleranceMs?: number): void;
}

/**
 * Liveness fails when the elector leads without having renewed for lease duration + tolerance
 * (client-go's HealthzAdaptor); readiness passes as leader or standby and says which.
 */
export function addLeaderElectionChecks(
  checks: HealthChecks,
  elector: LeaderStatus,
  toleranceMs = 20_000,
): void {
  checks.addHealthCheck('leader-election', () => elector.healthCheck(toleranceMs));
  checks.addReadyCheck('leader-election', () =>
    elector.isLeader() ? 'leader' : `standby (leader: ${elector.getLeader() ?? 'none'})`,
  );
}

export interface HttpServersOptions {
  /** `host:port`, `:port`, or `0` for no metrics endpoint. */
  metricsBindAddress: string;
  /** `host:port`, `:port`, or `0` for no probe endpoints. */
  healthProbeBindAddress: string;
  registry: Registry;
  checks: HealthChecks;
  logger?: Logger;
  /** How long `close()` lets a request in flight finish. @default 2000 */
  closeGraceMs?: number;
}

export interface RunningHttpServers {
  /** The address actually bound (`127.0.0.1:39125`), useful with port 0. */
  readonly metricsAddress: string | undefined;
  readonly healthProbeAddress: string | undefined;
  /** Stops listening, lets requests in flight finish within the grace, then closes the rest. */
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

export async function startHttpServers(options: HttpServersOptions): Promise<RunningHttpServers> {
  const logger = options.logger ?? noopLogger;
  const metrics = parseBindAddress(options.metricsBindAddress);
  const probes = parseBindAddress(options.healthProbeBindAddress);
  const metricsRoutes: Record<string, Handler> = { '/metrics': metricsHandler(options.registry) };
  const probeRoutes: Record<string, Handler> = {
    '/healthz': checksHandler(options.checks, 'healthz'),
    '/readyz': checksHandler(options.checks, 'readyz'),
  };

  const servers: Server[] = [];
  const listen = async (bind: BindAddress, routes: Record<string, Handler>) => {
    const server = createServer((req, res) => void route(routes, req, res, logger));
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: bind.host, port: bind.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = formatAddress(server.address() as AddressInfo);
    logger.info({ address: bound, paths: Object.keys(routes) }, 'serving http');
    return bound;
  };

  try {
    let metricsAddress: string | undefined;
    let healthProbeAddress: string | undefined;
    if (metrics && probes && sameAddress(metrics, probes)) {
      metricsAddress = healthProbeAddress = await listen(metrics, {
        ...metricsRoutes,
        ...probeRoutes,
      });
    } else {
      if (metrics) metricsAddress = await listen(metrics, metricsRoutes);
      if (probes) healthProbeAddress = await listen(probes, probeRoutes);
    }
    const closeGraceMs = options.closeGraceMs ?? 2000;
    return {
      metricsAddress,
      healthProbeAddress,
      close: () => Promise.all(servers.map((s) => closeServer(s, closeGraceMs))).then(() => {}),
    };
  } catch (err) {
    await Promise.all(servers.map((s) => closeServer(s, 0)));
    throw err;
  }
}

async function route(
  routes: Record<string, Handler>,
  req: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  // `/healthz/informers` runs the one check; the handler reads the name from the path.
  const base = '/' + (url.pathname.split('/')[1] ?? '');
  const handler = routes[url.pathname] ?? (base !== '/metrics' ? routes[base] : undefined);
  if (!handler) return send(res, 404, 'not found\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
  try {
    await handler(req, res, url);
  } catch (err) {
    logger.error({ path: url.pathname, err: errorMessage(err) }, 'http handler failed');
    if (!res.headersSent) send(res, 500, 'internal error\n');
  }
}

function metricsHandler(registry: Registry): Handler {
  return async (_req, res) => {
    const body = await registry.metrics();
    send(res, 200, body, registry.contentType);
  };
}

function checksHandler(checks: HealthChecks, kind: Kind): Handler {
  return async (_req, res, url) => {
    const only = url.pathname.split('/')[2] || undefined;
    if (only !== undefined && !checks.has(kind, only))
      return send(res, 404, `no ${kind} check "${only}"\n`);
    const exclude = url.searchParams.getAll('exclude');
    const results = await checks.run(kind, only, exclude);
    const passed = results.every((r) => r.ok);
    const verbose = url.searchParams.has('verbose');
    if (passed && !verbose) return send(res, 200, 'ok');
    const lines = results.map((r) =>
      r.ok
        ? `[+]${r.name} ok${r.detail ? `: ${r.detail}` : ''}`
        : `[-]${r.name} failed: ${r.detail}`,
    );
    for (const name of exclude) lines.push(`[+]${name} excluded: ok`);
    lines.push(`${kind} check ${passed ? 'passed' : 'failed'}`);
    send(res, passed ? 200 : 500, lines.join('\n') + '\n');
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  type = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function closeServer(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    // Keep-alive connections from scrapers would otherwise hold close() open until they time out.
    server.closeIdleConnections();
  });
}

export interface BindAddress {
  /** Undefined binds every interface. */
  host: string | undefined;
  port: number;
}

/**
 * Parses a `--*-bind-address` value: `host:port`, `[v6]:port`, `:port`; `0` disables the
 * endpoint (undefined). Throws a TypeError naming the value.
 */
export function parseBindAddress(value: string): BindAddress | undefined {
  if (value === '0') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new TypeError(`bind address "${value}" must be host:port, :port, or 0 to disable`);
  }
  return { host: m[1] ?? (m[2] || undefined), port };
}

function sameAddress(a: BindAddress, b: BindAddress): boolean {
  return a.port !== 0 && a.port === b.port && a.host === b.host;
}

function formatAddress(a: AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
