/**
 * A `FakeCloud` served over HTTP on loopback, so that several kube-lbc processes (two replicas
 * electing a leader, one restarted after a SIGKILL) work on one cloud that the process owning it
 * can inspect. `remote-cloud.ts` is the client; the provider reaches it with the cloud-config key
 * `cloudUrl`.
 *
 * The protocol is one JSON POST per call, `/call` with `{ method, args }`, answered 200 with
 * `{ result }` or 500 with `{ error }` carrying a `CloudError`'s fields. A write whose answer the
 * cloud loses (`lostAnswerRate`) is made and its connection then reset, as a network loses it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CloudError } from '../../contract/errors.js';
import { lostAnswerCode, type FakeCloud } from './cloud.js';

const methods = new Set([
  'getLoadBalancer',
  'listLoadBalancers',
  'createLoadBalancer',
  'updateLoadBalancer',
  'updateHosts',
  'setTags',
  'deleteLoadBalancer',
]);

export interface FakeCloudServer {
  /** `http://127.0.0.1:<port>`: the value of the cloud-config key `cloudUrl`. */
  readonly url: string;
  close(): Promise<void>;
}

/** The wire form of a failed call. */
export interface WireError {
  readonly message: string;
  readonly operation?: string;
  readonly cloudCode?: string;
  readonly retryable?: boolean;
  readonly throttled?: boolean;
  readonly notFound?: boolean;
}

export async function startFakeCloudServer(
  cloud: FakeCloud,
  options: { port?: number } = {},
): Promise<FakeCloudServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    void serve(cloud, req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function serve(cloud: FakeCloud, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let method: string;
  let args: unknown[];
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as {
      method?: unknown;
      args?: unknown;
    };
    if (req.method !== 'POST' || req.url !== '/call') throw new Error('POST /call only');
    if (typeof body.method !== 'string' || !methods.has(body.method)) {
      throw new Error(`unknown method ${JSON.stringify(body.method)}`);
    }
    if (!Array.isArray(body.args)) throw new Error('args must be a list');
    method = body.method;
    args = body.args;
  } catch (err) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: (err as Error).message, retryable: false } }));
    return;
  }
  try {
    const fn = (cloud as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!;
    const result = await fn.apply(cloud, args);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ result: result ?? null }));
  } catch (err) {
    if (err instanceof CloudError && err.cloudCode === lostAnswerCode) {
      res.socket?.resetAndDestroy();
      return;
    }
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: toWire(err) }));
  }
}

function toWire(err: unknown): WireError {
  if (err instanceof CloudError) {
    const { message, operation, cloudCode, retryable, throttled, notFound } = err;
    return { message, operation, cloudCode, retryable, throttled, notFound };
  }
  return { message: err instanceof Error ? err.message : String(err), retryable: true };
}
