import assert from 'node:assert/strict';
import http2, { type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { isNotFound } from '../../../runtime/api-errors.js';
import { reuseConnections, transportOf, watchFor } from '../../../runtime/kube-client.js';
import { selfSigned } from '../../fixtures/self-signed.js';

// HTTP/1.1 requests reach the handler too: the compatibility API has the same shape.
type Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

function kubeConfigFor(port: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't0k' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  return reuseConnections(kc);
}

const emptyList = JSON.stringify({
  apiVersion: 'v1',
  kind: 'NamespaceList',
  metadata: {},
  items: [],
});

describe('Http2Transport', () => {
  const tlsFiles = selfSigned();
  let server: Http2SecureServer | https.Server;
  let handler: Handler;
  const sessions = new Set<ServerHttp2Session>();
  const seen: { version: string; auth: string | undefined; path: string }[] = [];

  async function listen(h2: boolean): Promise<number> {
    const onRequest: Handler = (req, res) => {
      seen.push({ version: req.httpVersion, auth: req.headers.authorization, path: req.url ?? '' });
      handler(req, res);
    };
    server = h2
      ? http2.createSecureServer({ ...tlsFiles, allowHTTP1: true }, onRequest)
      : https.createServer(
          tlsFiles,
          onRequest as unknown as Parameters<typeof https.createServer>[1],
        );
    if (h2) (server as Http2SecureServer).on('session', (s) => sessions.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  }

  beforeEach(() => {
    seen.length = 0;
    sessions.clear();
    handler = (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(emptyList);
    };
  });

  afterEach(async () => {
    for (const s of sessions) s.destroy();
    if (server instanceof https.Server) server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends concurrent API calls as streams of one HTTP/2 connection, with the credentials', async () => {
    const kc = kubeConfigFor(await listen(true));
    const core = kc.makeApiClient(CoreV1Api);
    const lists = await Promise.all(Array.from({ length: 8 }, () => core.listNamespace()));
    assert.equal(lists.length, 8);
    assert.deepEqual(lists[0]!.items, []);
    assert.equal(seen.length, 8);
    assert.ok(seen.every((r) => r.version === '2.0' && r.auth === 'Bearer t0k'));
    assert.equal(sessions.size, 1);
    assert.equal(transportOf(kc)!.sessionsOpened, 1);
  });

  it('keeps API errors as ApiExceptions with their status', async () => {
    const kc = kubeConfigFor(await listen(true));
    handler = (_req, res) => {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound' }));
    };
    const err = await kc
      .makeApiClient(CoreV1Api)
      .readNamespace({ name: 'gone' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(isNotFound(err));
  });

  it('keeps HTTP/1.1 on keep-alive connections for a server that does not offer h2', async () => {
    const kc = kubeConfigFor(await listen(false));
    const core = kc.makeApiClient(CoreV1Api);
    for (let i = 0; i < 3; i++) await core.listNamespace();
    assert.deepEqual(
      seen.map((r) => r.version),
      ['1.1', '1.1', '1.1'],
    );
    assert.ok(seen.every((r) => r.auth === 'Bearer t0k'));
    assert.equal(transportOf(kc)!.sessionsOpened, 0);
  });

  it('opens a new connection when the server closed the last one', async () => {
    const kc = kubeConfigFor(await listen(true));
    const core = kc.makeApiClient(CoreV1Api);
    await core.listNamespace();
    const [first] = sessions;
    await new Promise<void>((r) => first!.close(r));
    await core.listNamespace();
    assert.equal(seen.length, 2);
    assert.equal(transportOf(kc)!.sessionsOpened, 2);
  });

  it('watches over the same connection, one event per line across chunk boundaries', async () => {
    const kc = kubeConfigFor(await listen(true));
    const lines = [
      JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '1' } } }),
      JSON.stringify({
        type: 'MODIFIED',
        object: { metadata: { name: 'é', resourceVersion: '2' } },
      }),
    ];
    const text = Buffer.from(lines.join('\n') + '\n');
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (!req.url?.includes('watch=true')) return void res.end(emptyList);
      // Split inside the second event's two-byte character, and between the two events.
      const cut = text.indexOf('é') + 1;
      res.write(text.subarray(0, 5));
      res.write(text.subarray(5, cut));
      setImmediate(() => res.end(text.subarray(cut)));
    };
    await kc.makeApiClient(CoreV1Api).listNamespace();
    const events: [string, string][] = [];
    const ended = new Promise<unknown>((resolve) => {
      void watchFor(kc).watch(
        '/api/v1/namespaces',
        { resourceVersion: '0' },
        (phase, obj) => events.push([phase, obj.metadata.name]),
        resolve,
      );
    });
    assert.equal(await ended, null);
    assert.deepEqual(events, [
      ['ADDED', 'a'],
      ['MODIFIED', 'é'],
    ]);
    assert.equal(seen[1]!.path, '/api/v1/namespaces?watch=true&resourceVersion=0');
    assert.equal(sessions.size, 1);
  });

  it('ends a watch the server refused with its status, and one aborted by the caller', async () => {
    const kc = kubeConfigFor(await listen(true));
    handler = (req, res) => {
      if (req.url?.includes('resourceVersion=1')) {
        res.statusCode = 410;
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(''); // headers out, then nothing: a quiet watch
    };
    const refused = await new Promise<unknown>((resolve) => {
      void watchFor(kc).watch(
        '/api/v1/namespaces',
        { resourceVersion: '1' },
        () => undefined,
        resolve,
      );
    });
    assert.equal((refused as { statusCode?: number }).statusCode, 410);

    let done!: (err: unknown) => void;
    const ended = new Promise<unknown>((r) => (done = r));
    const controller = await watchFor(kc).watch('/api/v1/namespaces', {}, () => undefined, done);
    controller.abort();
    assert.equal(((await ended) as Error).name, 'AbortError');
  });
});
