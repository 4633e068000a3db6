/**
 * The HTTP front: routes a request to discovery or to a resource verb, records it in the audit
 * log, applies injected faults, and writes JSON (Status objects for failures).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.js';
import { openApiDocument, openApiIndex } from './openapi.js';
import {
  ApiError,
  badRequest,
  methodNotAllowed,
  resourceNotFound,
  toApiError,
  unsupportedBody,
} from './errors.js';
import { decodeProtobuf, PROTOBUF } from './protobuf.js';
import type { AuditRecord, Faults } from './faults.js';
import type { Rest, Reply, Target } from './rest.js';
import { parsePath, type ParsedPath, type ResourcePath } from './routing.js';
import { toTable, wantsTable } from './table.js';
import type { ResourceType, Verb } from './types.js';
import type { WatchHub } from './watch.js';
import type { Logger } from '../../contract/logger.js';

export interface FrontDeps {
  registry: ResourceType[];
  rest: Rest;
  watches: WatchHub;
  faults: Faults;
  audit: AuditRecord[];
  logger: Logger;
  /** host:port, for /api's serverAddressByClientCIDRs. */
  address: () => string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  const e = toApiError(err);
  sendJson(res, e.code, e.status, e.headers);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function decodeBody(body: Buffer, contentType: string | undefined): unknown {
  const type = (contentType ?? 'application/json').split(';')[0]!.trim();
  if (type === PROTOBUF) return decodeProtobuf(body);
  const raw = body.toString('utf8');
  if (raw.trim() === '') return undefined;
  try {
    if (type === 'application/yaml' || type === 'application/x-yaml') return parseYaml(raw);
    if (type.includes('protobuf') || type.includes('cbor')) throw unsupportedBody(type);
    return JSON.parse(raw);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw badRequest(`error decoding body: ${(err as Error).message}`);
  }
}

function verbOf(method: string, path: ResourcePath, query: URLSearchParams): Verb | undefined {
  const watch = path.watchPrefix || query.get('watch') === 'true' || query.get('watch') === '1';
  switch (method) {
    case 'GET':
      return watch ? 'watch' : path.name ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return path.name ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

export function createHandler(deps: FrontDeps) {
  const { registry, rest, watches, faults, audit, logger } = deps;

  /** Everything that is not a resource path: discovery, OpenAPI, health, and 404 for the rest. */
  function discovery(pathname: string, parsed: ParsedPath, res: ServerResponse): void {
    if (pathname === '/version' || pathname === '/version/') sendJson(res, 200, versionInfo());
    else if (pathname === '/api' || pathname === '/api/')
      sendJson(res, 200, apiVersions(deps.address()));
    else if (pathname === '/apis' || pathname === '/apis/')
      sendJson(res, 200, apiGroupList(registry));
    else if (/^\/apis\/[^/]+\/?$/.test(pathname)) {
      const doc = apiGroup(registry, pathname.split('/')[2]!);
      if (doc) sendJson(res, 200, doc);
      else sendError(res, resourceNotFound());
    } else if (parsed.type === 'groupVersion') {
      const doc = apiResourceList(registry, parsed.group, parsed.version);
      if (doc) sendJson(res, 200, doc);
      else sendError(res, resourceNotFound());
    } else if (pathname === '/openapi/v3' || pathname === '/openapi/v3/') {
      sendJson(res, 200, openApiIndex(registry));
    } else if (pathname.startsWith('/openapi/v3/')) {
      const m = /^\/openapi\/v3\/(?:api\/([^/]+)|apis\/([^/]+)\/([^/]+))$/.exec(pathname);
      const doc =
        m && (m[1] ? openApiDocument(registry, '', m[1]) : openApiDocument(registry, m[2]!, m[3]!));
      if (doc) sendJson(res, 200, doc);
      else
        res
          .writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
          .end('404 page not found\n');
    } else if (['/healthz', '/livez', '/readyz'].includes(pathname)) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
    } else {
      res
        .writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('404 page not found\n');
    }
  }

  function targetOf(path: ResourcePath, query: URLSearchParams): Target {
    const rt = registry.find(
      (r) => r.group === path.group && r.version === path.version && r.resource === path.resource,
    );
    if (!rt) throw resourceNotFound();
    if (path.subresource && !rt.subresources.includes(path.subresource)) throw resourceNotFound();
    if (!rt.namespaced && path.namespace !== undefined) throw resourceNotFound();
    if (rt.namespaced && path.namespace === undefined && path.name !== undefined)
      throw resourceNotFound();
    return { rt, namespace: path.namespace, name: path.name, subresource: path.subresource, query };
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    try {
      const parsed = parsePath(url.pathname);
      if (parsed.type !== 'resource') return discovery(url.pathname, parsed, res);
      const t = targetOf(parsed.path, url.searchParams);
      const verb = verbOf(method, parsed.path, url.searchParams);
      if (
        !verb ||
        !t.rt.verbs.includes(verb) ||
        (t.subresource && !['get', 'update', 'patch'].includes(verb))
      )
        throw methodNotAllowed();
      const record: AuditRecord = {
        verb,
        group: t.rt.group,
        resource: t.rt.resource,
        ...(t.subresource ? { subresource: t.subresource } : {}),
        ...(t.namespace !== undefined ? { namespace: t.namespace } : {}),
        ...(t.name !== undefined ? { name: t.name } : {}),
      };
      audit.push(record);
      logger.debug({ ...record }, 'request');
      const fault = faults.take(record);
      if (fault.delayMs) await sleep(fault.delayMs);
      if (fault.error) throw fault.error;

      const dryRunParam = url.searchParams.get('dryRun');
      if (dryRunParam && dryRunParam !== 'All')
        throw badRequest(`dryRun: Unsupported value: "${dryRunParam}": supported values: "All"`);
      const dryRun = dryRunParam === 'All';
      const raw = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)
        ? await readBody(req)
        : Buffer.alloc(0);
      let reply: Reply;
      switch (verb) {
        case 'watch':
          watches.serve(t, req, res, { expire: faults.takeExpiry(t.rt.resource) });
          return;
        case 'get':
          reply = rest.get(t);
          break;
        case 'list':
          reply = rest.list(t);
          break;
        case 'create':
          reply = rest.create(t, decodeBody(raw, req.headers['content-type']), dryRun);
          break;
        case 'update':
          reply = rest.update(t, decodeBody(raw, req.headers['content-type']), dryRun);
          break;
        case 'patch':
          reply = rest.patch(t, req.headers['content-type'], raw.toString('utf8'), dryRun);
          break;
        case 'delete': {
          // DeleteOptions may carry dryRun and preconditions in the body.
          const options = decodeBody(raw, 'application/json') as { dryRun?: string[] } | undefined;
          reply = rest.delete(t, options, dryRun || !!options?.dryRun?.includes('All'));
          break;
        }
        case 'deletecollection':
          reply = rest.deleteCollection(t, dryRun);
          break;
      }
      const body =
        wantsTable(req.headers.accept) && (verb === 'get' || verb === 'list')
          ? toTable(t.rt, reply.body)
          : reply.body;
      sendJson(res, reply.code, body);
    } catch (err) {
      if (!(err instanceof ApiError))
        logger.error({ err, method, url: req.url }, 'emulator handler failed');
      sendError(res, err);
    }
  };
}
