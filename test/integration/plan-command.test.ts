/**
 * `kube-lbc plan` end to end over the API emulator with the fake provider: a LoadBalancer
 * Service not yet made is planned as a create, exit 2; with no such Service, exit 0; a bad flag
 * is 1, never the 2 that means "changes pending".
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../sandbox/apiserver/index.js';
import { newPostedService } from '../fixtures/builders.js';

const entry = new URL('../../cmd/kube-lbc.ts', import.meta.url).pathname;

async function kubeLbc(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out };
}

describe('kube-lbc plan', function () {
  this.timeout(60_000);
  let api: ApiServer;
  let kubeconfig: string;
  before(async () => {
    api = await startApiServer();
    kubeconfig = join(mkdtempSync(join(tmpdir(), 'kube-lbc-plan-')), 'kubeconfig');
    writeFileSync(kubeconfig, api.kubeconfigYaml());
  });
  after(() => api.close());

  it('exits 0 with nothing to change, 2 with a Service to create, listing it in text and JSON', async () => {
    const none = await kubeLbc(['plan', '--cloud-provider', 'fake', '--kubeconfig', kubeconfig]);
    assert.equal(none.code, 0, none.out);
    assert.match(none.out, /0 changes in 0 Services, 0 orphans/);

    const kc = api.kubeConfig();
    await kc
      .makeApiClient(CoreV1Api)
      .createNamespacedService({ namespace: 'default', body: newPostedService('web') });
    const text = await kubeLbc(['plan', '--cloud-provider', 'fake', '--kubeconfig', kubeconfig]);
    assert.equal(text.code, 2, text.out);
    assert.match(text.out, /^default\/web:\n {2}~ create load balancer fake-/m);
    const json = await kubeLbc([
      'plan',
      '--cloud-provider',
      'fake',
      '--kubeconfig',
      kubeconfig,
      '-o',
      'json',
    ]);
    assert.equal(json.code, 2, json.out);
    const report = JSON.parse(json.out.slice(json.out.indexOf('{')));
    assert.deepEqual(
      report.services[0].changes.map((c: { operation: string }) => c.operation),
      ['CreateLoadBalancer'],
    );
    assert.deepEqual(report.calls.refused, []);
  });

  it('exits 1 on a bad flag', async () => {
    const bad = await kubeLbc([
      'plan',
      '--cloud-provider',
      'fake',
      '-o',
      'yaml',
      '--kubeconfig',
      kubeconfig,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /--output: expected text or json, got "yaml"/);
  });
});
