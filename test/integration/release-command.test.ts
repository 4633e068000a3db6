/**
 * `kube-lbc release` end to end: the real command, in its own process, against the API emulator
 * with the controller (fake provider) running in this one. Released: exit 0 and the address kept;
 * already released: exit 0 and no write; not kube-lbc's, not found, deleted while waiting, refused
 * by the controller, or the timeout: exit 1 with a message saying which.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { findReadyCondition } from '../../controllers/service/status.js';
import { createFakeCloud, createFakeProvider } from '../../providers/fake/index.js';
import { startTestCluster, type TestCluster } from '../support/cluster.js';
import { newNode, newPostedService, tweakClass, tweakType } from '../fixtures/builders.js';

const entry = new URL('../../cmd/kube-lbc.ts', import.meta.url).pathname;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';
const RELEASE = 'kube-lbc.io/release';

/** Runs the command to its exit; a test may act on the cluster while it runs. */
function kubeLbc(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  return once(child, 'exit').then(([code]) => ({ code: code as number | null, out }));
}

describe('kube-lbc release', function () {
  this.timeout(60_000);
  let c: TestCluster;
  let kubeconfig: string;

  before(async function () {
    c = await startTestCluster({ nodes: [newNode('node-1')] });
    if (c.real) {
      await c.stop();
      this.skip(); // the writes are read from the emulator's audit log
    }
    kubeconfig = join(mkdtempSync(join(tmpdir(), 'kube-lbc-release-')), 'kubeconfig');
    writeFileSync(kubeconfig, c.api.kubeconfigYaml());
  });
  after(async () => {
    if (c && !c.real) await c.stop();
  });

  const release = (service: string, timeout = '30s') =>
    kubeLbc(['release', service, '--kubeconfig', kubeconfig, '--timeout', timeout]);

  /** The writes anyone made to `name` (the Service or its status) from audit entry `since` on. */
  const writesTo = (name: string, since = 0) =>
    c.api.audit
      .slice(since)
      .filter((r) => r.resource === 'services' && r.name === name && r.verb !== 'get');

  async function ready(name: string): Promise<V1Service> {
    await c.core.createNamespacedService({ namespace: 'default', body: newPostedService(name) });
    const svc = await c.until(() => {
      const s = c.cached('default', name);
      return s && findReadyCondition(s)?.reason === 'Ready' && s;
    }, `${name} to be ready`);
    await c.idle();
    return svc;
  }

  /** A LoadBalancer served by another controller sharing upstream's finalizer name. */
  async function theirs(name: string): Promise<void> {
    const svc = newPostedService(name, tweakClass('example.com/other'));
    svc.metadata!.finalizers = [FINALIZER];
    await c.core.createNamespacedService({ namespace: 'default', body: svc });
  }

  const read = (name: string) => c.core.readNamespacedService({ name, namespace: 'default' });

  it('releases a Service kube-lbc manages: exit 0, the address still published and the load balancer kept', async () => {
    const svc = await ready('web');
    const ip = svc.status!.loadBalancer!.ingress![0]!.ip!;
    const { code, out } = await release('default/web');
    assert.equal(code, 0, out);
    assert.match(out, /^default\/web: released$/m);
    assert.ok(out.includes(`still serving at ${ip}`), out);
    assert.match(out, /remove the kube-lbc\.io\/release annotation/);

    const after = await read('web');
    assert.equal(after.metadata?.annotations?.[RELEASE], 'true');
    assert.deepEqual(after.metadata?.finalizers ?? [], []);
    assert.equal(after.status?.loadBalancer?.ingress?.[0]?.ip, ip);
    const [lb, ...more] = c.cloud.loadBalancers().filter((l) => l.ingress[0]?.ip === ip);
    assert.equal(more.length, 0);
    assert.equal(lb!.tags.cluster, '', 'handed back: no longer tagged as ours');
  });

  it('says so, writes nothing and exits 0 for a Service already released', async () => {
    await ready('done');
    assert.equal((await release('default/done')).code, 0);
    await c.idle();
    const since = c.api.audit.length;
    const { code, out } = await release('default/done');
    assert.equal(code, 0, out);
    assert.match(out, /^default\/done: already released; nothing changed$/m);
    assert.deepEqual(writesTo('done', since), []);
  });

  it('refuses a Service without the cleanup finalizer, naming it, and sets nothing', async () => {
    await c.core.createNamespacedService({
      namespace: 'default',
      body: newPostedService('plain', tweakType('ClusterIP'), (s) => {
        delete s.spec!.externalTrafficPolicy; // only for externally reachable Services
      }),
    });
    const since = c.api.audit.length;
    const { code, out } = await release('default/plain');
    assert.equal(code, 1, out);
    assert.match(
      out,
      /default\/plain: not released: it has no service\.kubernetes\.io\/load-balancer-cleanup finalizer/,
    );
    assert.match(out, /nothing set/);
    assert.deepEqual(writesTo('plain', since), []);
    assert.equal((await read('plain')).metadata?.annotations?.[RELEASE], undefined);
  });

  it('exits 1 naming a Service that does not exist', async () => {
    const { code, out } = await release('default/nope');
    assert.equal(code, 1, out);
    assert.match(out, /^default\/nope: not released: no such Service$/m);
    assert.deepEqual(writesTo('nope'), []);
  });

  it('exits 1 on the timeout when no kube-lbc serves the Service, saying the finalizer is still on', async function () {
    if (c.serverMinor < 22) this.skip(); // spec.loadBalancerClass would be dropped: it would be ours
    await theirs('other');
    const { code, out } = await release('default/other', '1s');
    assert.equal(code, 1, out);
    assert.match(
      out,
      /^default\/other: not released within 1s: the service\.kubernetes\.io\/load-balancer-cleanup finalizer is still on \(is kube-lbc running/m,
    );
    const svc = await read('other');
    assert.deepEqual(svc.metadata?.finalizers, [FINALIZER], 'left for its own controller');
    assert.deepEqual(
      c.cloud.calls.filter((call) => call.service === 'default/other'),
      [],
    );
  });

  it('exits 1 saying the Service was deleted while it waited', async function () {
    if (c.serverMinor < 22) this.skip();
    await theirs('gone');
    const waiting = release('default/gone');
    await c.until(
      () => c.cached('default', 'gone')?.metadata?.annotations?.[RELEASE] === 'true',
      'the command to set the annotation',
    );
    await c.core.deleteNamespacedService({ name: 'gone', namespace: 'default' });
    // Its own controller would now clean up and remove the finalizer; the test does it for it.
    await c.core.patchNamespacedService(
      { name: 'gone', namespace: 'default', body: { metadata: { finalizers: null } } },
      mergePatch,
    );
    const { code, out } = await waiting;
    assert.equal(code, 1, out);
    assert.match(out, /^default\/gone: not released: the Service was deleted while waiting/m);
  });
});

describe('kube-lbc release, with a provider that cannot release', function () {
  this.timeout(60_000);
  let c: TestCluster;

  before(async () => {
    const cloud = createFakeCloud();
    const inner = createFakeProvider(cloud);
    c = await startTestCluster({
      nodes: [newNode('node-1')],
      cloud,
      provider: async (options) => {
        const p = await inner(options);
        // As the gcp provider is: no releaseLoadBalancer at all.
        (p as { releaseLoadBalancer?: unknown }).releaseLoadBalancer = undefined;
        return p;
      },
    });
  });
  after(async () => c?.stop());

  it("exits 1 with the controller's refusal, the finalizer and the load balancer kept", async function () {
    if (c.real) this.skip();
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'kube-lbc-release-')), 'kubeconfig');
    writeFileSync(kubeconfig, c.api.kubeconfigYaml());
    await c.core.createNamespacedService({ namespace: 'default', body: newPostedService('web') });
    await c.until(
      () => findReadyCondition(c.cached('default', 'web') ?? {})?.reason === 'Ready',
      'web to be ready',
    );
    await c.idle();
    c.cloud.clearCalls();

    const { code, out } = await kubeLbc(['release', 'default/web', '--kubeconfig', kubeconfig]);
    assert.equal(code, 1, out);
    assert.match(out, /^default\/web: not released: Provider fake cannot release a load balancer/m);
    const svc = await c.core.readNamespacedService({ name: 'web', namespace: 'default' });
    assert.deepEqual(svc.metadata?.finalizers, [FINALIZER]);
    assert.equal(c.cloud.loadBalancers()[0]?.tags.serviceName, 'web', 'still ours');
    assert.deepEqual(c.cloud.writes(), []);
  });
});
