import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
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
