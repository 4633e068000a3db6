import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { isNotFound } from '../../../runtime/api-errors.js';
import { reuseConnections } from '../../../runtime/kube-client.js';
import { withLeanWrites } from '../../../runtime/lean-writes.js';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  auth: string | undefined;
  body: unknown;
}

describe('withLeanWrites', () => {
  const seen: Seen[] = [];
  let status = 200;
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        auth: req.headers.authorization,
        body: JSON.parse(Buffer.concat(chunks).toString() || 'null'),
      });
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          metadata: {
            name: 'web',
            resourceVersion: '7',
            creationTimestamp: '2025-01-01T00:00:00Z',
          },
        }),
      );
    });
  });
  let core: CoreV1Api;

  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [{ name: 'u', token: 't0k' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    core = withLeanWrites(reuseConnections(kc), reuseConnections(kc).makeApiClient(CoreV1Api));
  });
  beforeEach(() => {
    seen.length = 0;
    status = 200;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends the Service patches with the caller’s Content-Type and returns the JSON as it came', async () => {
    const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const body = { metadata: { resourceVersion: '6', finalizers: ['f'] } };
    const svc = await core.patchNamespacedService(
      { name: 'web', namespace: 'default', body },
      mergePatch,
    );
    const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
    await core.patchNamespacedServiceStatus(
      { name: 'web', namespace: 'default', body: { status: {} } },
      smp,
    );
    assert.equal(svc.metadata?.resourceVersion, '7');
    assert.equal(svc.metadata?.creationTimestamp as unknown, '2025-01-01T00:00:00Z');
    assert.deepEqual(seen, [
      {
        method: 'PATCH',
        url: '/api/v1/namespaces/default/services/web',
        contentType: PatchStrategy.MergePatch,
        auth: 'Bearer t0k',
        body,
      },
      {
        method: 'PATCH',
        url: '/api/v1/namespaces/default/services/web/status',
        contentType: PatchStrategy.StrategicMergePatch,
        auth: 'Bearer t0k',
        body: { status: {} },
      },
    ]);
  });

  it('creates Events with their timestamps as RFC 3339', async () => {
    const at = new Date('2025-01-01T00:00:00Z');
    await core.createNamespacedEvent({
      namespace: 'ns 1',
      body: { metadata: { name: 'e' }, involvedObject: {}, firstTimestamp: at },
    });
    assert.equal(seen[0]!.url, '/api/v1/namespaces/ns%201/events');
    assert.equal(seen[0]!.contentType, 'application/json');
    assert.deepEqual(seen[0]!.body, {
      metadata: { name: 'e' },
      involvedObject: {},
      firstTimestamp: '2025-01-01T00:00:00.000Z',
    });
  });

  it('throws the ApiException the generated client throws', async () => {
    status = 404;
    const err = await core
      .patchNamespacedService({ name: 'gone', namespace: 'default', body: {} })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(isNotFound(err));
  });
});
