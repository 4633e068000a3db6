import assert from 'node:assert/strict';
import { CloudError } from '../../../../contract/errors.js';
import { noopLogger } from '../../../../contract/logger.js';
import type { CallContext } from '../../../../contract/provider.js';
import {
  createFakeCloud,
  createFakeProvider,
  RemoteFakeCloud,
  startFakeCloudServer,
  type FakeCloud,
  type FakeCloudServer,
} from '../../../../providers/fake/index.js';
import { CloudCallGate } from '../../../../runtime/cloud-calls.js';
import { newService } from '../../../fixtures/builders.js';

const ctx: CallContext = {
  signal: new AbortController().signal,
  logger: noopLogger,
  recordEvent: () => {},
};

describe('fake cloud over HTTP', () => {
  let cloud: FakeCloud;
  let server: FakeCloudServer;
  beforeEach(async () => {
    cloud = createFakeCloud();
    server = await startFakeCloudServer(cloud);
  });
  afterEach(() => server.close());

  const providerOver = (gate = new CloudCallGate()) =>
    createFakeProvider(createFakeCloud())({
      config: { cloudUrl: server.url },
      clusterName: 'test',
      logger: noopLogger,
      cloudCalls: gate,
      cluster: { services: () => [], nodes: () => [] },
    });

  it('gives two providers, as two replicas, the one cloud of the serving process', async () => {
    const [a, b] = [await providerOver(), await providerOver()];
    const svc = newService('web');
    const made = await a.ensureLoadBalancer(ctx, 'test', svc, [{ metadata: { name: 'n1' } }]);
    assert.deepEqual(await b.getLoadBalancer(ctx, 'test', svc), made);
    assert.deepEqual(await b.listLoadBalancers!(ctx, 'test'), [
      { serviceUID: svc.metadata!.uid, namespace: 'default', name: 'web' },
    ]);
    await b.ensureLoadBalancerDeleted(ctx, 'test', svc);
    assert.deepEqual(cloud.loadBalancers(), []);
    assert.deepEqual(
      cloud.calls.map((c) => c.method),
      ['CreateLoadBalancer', 'GetLoadBalancer', 'ListLoadBalancers', 'DeleteLoadBalancer'],
    );
  });

  it('brings back the cloud error with its code and flags', async () => {
    const remote = new RemoteFakeCloud({ url: server.url });
    await assert.rejects(remote.deleteLoadBalancer('nothing', 'default/x'), (err) => {
      assert.ok(err instanceof CloudError);
      assert.equal(err.cloudCode, 'LoadBalancerNotFound');
      assert.equal(err.notFound, true);
      assert.equal(err.retryable, false);
      return true;
    });
    cloud.throttleRate = 1;
    cloud.throttleBurst = 1;
    await assert.rejects(remote.listLoadBalancers(), (err: CloudError) => err.throttled);
  });

  it('resets the connection of a write whose answer is lost, after making it', async () => {
    const remote = new RemoteFakeCloud({ url: server.url });
    cloud.lostAnswerRate = 1;
    const lb = {
      name: 'lb-1',
      tags: { cluster: 'test', serviceUID: 'u', namespace: 'd', serviceName: 's' },
    };
    await assert.rejects(
      remote.createLoadBalancer({ ...lb, ports: [], sourceRanges: [], nodes: [] }, 'd/s'),
      (err) => {
        assert.ok(err instanceof CloudError);
        assert.equal(err.cloudCode, 'RequestError');
        assert.equal(err.retryable, true);
        return true;
      },
    );
    assert.deepEqual(
      cloud.loadBalancers().map((l) => l.name),
      ['lb-1'],
    );
  });

  it('reports a server that is gone as a retryable error', async () => {
    const remote = new RemoteFakeCloud({ url: server.url });
    await server.close();
    await assert.rejects(remote.listLoadBalancers(), (err: CloudError) => err.retryable);
    server = await startFakeCloudServer(cloud);
  });

  it('refuses what is not a call of the cloud', async () => {
    const res = await fetch(`${server.url}/call`, {
      method: 'POST',
      body: JSON.stringify({ method: 'failNext', args: [] }),
    });
    assert.equal(res.status, 400);
    assert.match(
      ((await res.json()) as { error: { message: string } }).error.message,
      /unknown method/,
    );
  });
});
