import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import { isConflict, isNotFound } from '../../../runtime/api-errors.js';
import { staticAccess } from '../../../runtime/cluster-access.js';
import { KubeApi } from '../../../runtime/kube-api.js';
import { selfSigned } from '../../fixtures/self-signed.js';

interface Seen {
  version: string;
  method: string;
  url: string;
  contentType: string | undefined;
  auth: string | undefined;
  body: unknown;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const service = {
  metadata: { name: 'web', resourceVersion: '7', creationTimestamp: '2025-01-01T00:00:00Z' },
};

for (const transport of ['HTTP/1.1', 'HTTP/1.1 over TLS'] as const) {
  describe(`KubeApi over ${transport}`, () => {
    const tlsFiles = transport === 'HTTP/1.1' ? undefined : selfSigned();
    const seen: Seen[] = [];
    let handler: Handler;
    let server: http.Server;
    let api: KubeApi;

    before(async () => {
      const onRequest = (req: IncomingMessage, res: ServerResponse) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          seen.push({
            version: req.httpVersion,
            method: req.method ?? '',
            url: req.url ?? '',
            contentType: req.headers['content-type'],
            auth: req.headers.authorization,
            body: JSON.parse(text || 'null'),
          });
          handler(req, res, text);
        });
      };
      server = tlsFiles ? https.createServer(tlsFiles, onRequest) : http.createServer(onRequest);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      api = new KubeApi(
        staticAccess(
          { server: `${tlsFiles ? 'https' : 'http'}://127.0.0.1:${port}/`, ca: tlsFiles?.cert },
          { token: 't0k' },
        ),
      );
    });
    beforeEach(() => {
      seen.length = 0;
      handler = (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(service));
      };
    });
    after(async () => {
      api.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    it('sends patches with the caller’s Content-Type and returns the JSON as it came', async () => {
      const body = { metadata: { resourceVersion: '6', finalizers: ['f'] } };
      const svc = await api.patchNamespacedService(
        { name: 'web', namespace: 'default', body },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await api.patchNamespacedServiceStatus(
        { name: 'web', namespace: 'default', body: { status: {} } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      assert.equal(svc.metadata?.resourceVersion, '7');
      // Timestamps stay the server's strings: no model classes.
      assert.equal(svc.metadata?.creationTimestamp as unknown, '2025-01-01T00:00:00Z');
      const version = '1.1';
      assert.deepEqual(seen, [
        {
          version,
          method: 'PATCH',
          url: '/api/v1/namespaces/default/services/web',
          contentType: PatchStrategy.MergePatch,
          auth: 'Bearer t0k',
          body,
        },
        {
          version,
          method: 'PATCH',
          url: '/api/v1/namespaces/default/services/web/status',
          contentType: PatchStrategy.StrategicMergePatch,
          auth: 'Bearer t0k',
          body: { status: {} },
        },
      ]);
    });

    it('lists in pages, reads, creates Events, and writes Leases at their paths', async () => {
      await api.listServiceForAllNamespaces({ limit: 500, _continue: 'tok en' });
      await api.listNode({});
      await api.readNamespacedService({ name: 'web', namespace: 'ns 1' });
      await api.createNamespacedEvent({
        namespace: 'ns 1',
        body: { metadata: { name: 'e' }, involvedObject: {} },
      });
      await api.readNamespacedLease({ name: 'kube-lbc', namespace: 'kube-system' });
      await api.createNamespacedLease({ namespace: 'kube-system', body: { metadata: {} } });
      await api.replaceNamespacedLease({
        name: 'kube-lbc',
        namespace: 'kube-system',
        body: { metadata: {} },
      });
      assert.deepEqual(
        seen.map((s) => `${s.method} ${s.url}`),
        [
          'GET /api/v1/services?limit=500&continue=tok+en',
          'GET /api/v1/nodes',
          'GET /api/v1/namespaces/ns%201/services/web',
          'POST /api/v1/namespaces/ns%201/events',
          'GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-lbc',
          'POST /apis/coordination.k8s.io/v1/namespaces/kube-system/leases',
          'PUT /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-lbc',
        ],
      );
      assert.equal(seen[3]!.contentType, 'application/json');
    });

    it('throws ApiExceptions with the status, as the generated client does', async () => {
      for (const [code, check] of [
        [404, isNotFound],
        [409, isConflict],
      ] as const) {
        handler = (_req, res) => {
          res.statusCode = code;
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ kind: 'Status', code }));
        };
        const err = await api.readNamespacedService({ name: 'x', namespace: 'default' }).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(check(err), `${code}: ${String(err)}`);
        assert.match((err as { body: string }).body, new RegExp(`"code":${code}`));
      }
    });

    it('watches: one event per line across chunk boundaries, done once when the server ends it', async () => {
      const lines = [
        JSON.stringify({
          type: 'ADDED',
          object: { metadata: { name: 'a', resourceVersion: '1' } },
        }),
        JSON.stringify({
          type: 'MODIFIED',
          object: { metadata: { name: 'é', resourceVersion: '2' } },
        }),
      ];
      handler = (_req, res) => {
        res.setHeader('content-type', 'application/json');
        const all = Buffer.from(`${lines.join('\n')}\n`);
        // Split inside the two-byte character and inside a line.
        res.write(all.subarray(0, 30));
        res.write(all.subarray(30, lines[0]!.length + 40));
        res.end(all.subarray(lines[0]!.length + 40));
      };
      const events: string[] = [];
      const done = new Promise<unknown>((resolve) => {
        void api.watch(
          '/api/v1/services',
          { resourceVersion: '0', allowWatchBookmarks: true },
          (phase, obj: { metadata: { name: string } }) =>
            events.push(`${phase} ${obj.metadata.name}`),
          resolve,
        );
      });
      assert.equal(await done, null);
      assert.deepEqual(events, ['ADDED a', 'MODIFIED é']);
      assert.equal(
        seen[0]!.url,
        '/api/v1/services?resourceVersion=0&allowWatchBookmarks=true&watch=true',
      );
    });

    it('reports a refused watch through done with its status', async () => {
      handler = (_req, res) => {
        res.statusCode = 410;
        res.end();
      };
      const err = await new Promise<unknown>((resolve) => {
        void api.watch('/api/v1/services', {}, () => undefined, resolve);
      });
      assert.equal((err as { statusCode: number }).statusCode, 410);
    });

    it('carries a burst of calls over a few reused keep-alive connections', async () => {
      const burst = () =>
        Promise.all(
          Array.from({ length: 40 }, () =>
            api.readNamespacedService({ name: 'web', namespace: 'd' }),
          ),
        );
      const before = api.connectionsOpened;
      await burst();
      const afterFirst = api.connectionsOpened;
      await burst();
      assert.equal(seen.length, 80);
      // 16 in flight at most, the one left idle by the tests before counted among them.
      assert.ok(afterFirst - before <= 16 && afterFirst - before >= 15, `${afterFirst - before}`);
      // The second burst found them all open.
      assert.equal(api.connectionsOpened, afterFirst);
    });
  });
}
