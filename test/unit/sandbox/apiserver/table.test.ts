import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../../../sandbox/apiserver/index.js';

const run = promisify(execFile);

describe('kubectl get against the emulator prints as the real server does', function () {
  this.timeout(30_000);
  let api: ApiServer;
  let kubeconfig: string;
  before(async () => {
    api = await startApiServer();
    kubeconfig = join(mkdtempSync(join(tmpdir(), 'kube-lbc-table-')), 'kubeconfig');
    writeFileSync(kubeconfig, api.kubeconfigYaml());
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    const now = new Date(Date.now() - 15 * 60_000).toISOString();
    await core.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { name: 'web.1' },
        involvedObject: { kind: 'Service', name: 'web', namespace: 'default', apiVersion: 'v1' },
        reason: 'EnsuredLoadBalancer',
        message: 'Ensured load balancer ',
        type: 'Normal',
        source: { component: 'service-controller' },
        firstTimestamp: now as never,
        lastTimestamp: now as never,
        count: 2,
      },
    });
  });
  after(() => api.close());

  it('Services: NAME, TYPE, CLUSTER-IP, EXTERNAL-IP (<pending> until an ingress), PORT(S), AGE', async () => {
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'web' },
        spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
      },
    });
    const get = async () =>
      (await run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'svc', 'web'])).stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split(/\s{2,}/));
    const [header, pending] = await get();
    assert.deepEqual(header, ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    assert.deepEqual(pending!.slice(0, 2), ['web', 'LoadBalancer']);
    assert.equal(pending![3], '<pending>');
    assert.match(pending![4]!, /^80:3\d{4}\/TCP$/);
    await core.patchNamespacedServiceStatus(
      {
        name: 'web',
        namespace: 'default',
        body: {
          status: {
            loadBalancer: {
              ingress: [{ hostname: 'k8s-web-0123456789.elb.us-east-1.amazonaws.com' }],
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const [, ready] = await get();
    assert.equal(
      ready![3],
      'k8s-web-0123456789.elb.us-east-1.amazonaws.com',
      'the server prints wide: no truncation',
    );
  });

  it('Events: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE; -o wide adds source, first seen, count, name', async () => {
    const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'events']);
    const [header, row] = stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    assert.deepEqual(header, ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    assert.deepEqual(row, [
      '15m',
      'Normal',
      'EnsuredLoadBalancer',
      'service/web',
      'Ensured load balancer',
    ]);

    const wide = await run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'events', '-o', 'wide']);
    const [wideHeader, wideRow] = wide.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    assert.deepEqual(wideHeader, [
      'LAST SEEN',
      'TYPE',
      'REASON',
      'OBJECT',
      'SUBOBJECT',
      'SOURCE',
      'MESSAGE',
      'FIRST SEEN',
      'COUNT',
      'NAME',
    ]);
    assert.deepEqual(wideRow, [
      '15m',
      'Normal',
      'EnsuredLoadBalancer',
      'service/web',
      'service-controller',
      'Ensured load balancer',
      '15m',
      '2',
      'web.1',
    ]);
  });
});
