/**
 * `releaseLoadBalancer` on the Compute emulator: every resource stays as it was, serving; the
 * backend service, health check and firewalls get cloud-provider-gcp's description, the
 * forwarding rules and the address (whose descriptions GCE fixes at creation) the
 * `kube-lbc-released` label; the listing and the garbage collector no longer claim it; a second
 * release reads only; a later ensure takes the same resources back (as its plan said), and a
 * delete then removes all.
 */
import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import type { LoadBalancerProvider } from '../../../contract/provider.js';
import { testCallContext } from '../../../contract/testing.js';
import { noopLogger } from '../../../contract/logger.js';
import { collectGarbage } from '../../../controllers/service/garbage-collector.js';
import type { ComputeEmulator } from '../../../sandbox/compute/index.js';
import { newService, tweakNamespace } from '../../fixtures/builders.js';
import {
  clusterName,
  inventoryOf,
  newGcpProvider,
  nodesOf,
  RecordingCalls,
  startEmulator,
} from './harness.js';

const ctx = testCallContext();
const released = { 'kube-lbc-released': 'true' };

describe('gcp releaseLoadBalancer on the Compute emulator', function () {
  this.timeout(60_000);
  let emu: ComputeEmulator;
  let calls: RecordingCalls;
  let provider: LoadBalancerProvider;

  beforeEach(async () => {
    emu = await startEmulator();
    calls = new RecordingCalls();
    provider = await newGcpProvider(emu, calls);
  });
  afterEach(async () => {
    await provider.close?.();
    await emu.close();
  });

  const nodes = () => nodesOf(emu, 1, 4);
  const release = (svc: V1Service) => provider.releaseLoadBalancer!(ctx, clusterName, svc);
  /** What serves traffic: everything but the marks a release changes. */
  const serving = () => inventoryOf(emu).map(({ description: _d, labels: _l, ...rest }) => rest);
  const byCollection = (collection: string) =>
    inventoryOf(emu).filter((r) => r.collection === collection);
  /** The emulator's IDs: a resource made anew gets another one. */
  const ids = () =>
    [...emu.state.all()]
      .filter(({ collection }) => !['instances', 'networks', 'subnetworks'].includes(collection))
      .map(({ item }) => `${item.name}=${item.id}`)
      .sort();

  it('keeps every resource, marks each one released, and no longer lists it', async () => {
    const svc = newService('web', tweakNamespace('shop'));
    await provider.ensureLoadBalancer(ctx, clusterName, svc, nodes());
    const before = serving();
    const madeIds = ids();

    const mark = calls.writes().length;
    await release(svc);

    assert.deepEqual(serving(), before, 'a release changed what serves traffic');
    assert.deepEqual(ids(), madeIds, 'a release replaced a resource');
    assert.deepEqual(calls.writes().slice(mark).sort(), [
      'addresses.setLabels',
      'firewalls.patch',
      'firewalls.patch',
      'forwardingRules.setLabels',
      'regionBackendServices.patch',
      'regionHealthChecks.patch',
    ]);
    const cpg = JSON.stringify({ 'kubernetes.io/service-name': 'shop/web' });
    for (const collection of ['backendServices', 'healthChecks', 'firewalls']) {
      for (const r of byCollection(collection)) {
        assert.equal(r.description, cpg, `${collection} ${String(r.name)}`);
        assert.ok(!('labels' in r), `${collection} carry no labels in GCE`);
      }
    }
    for (const collection of ['forwardingRules', 'addresses']) {
      const [r] = byCollection(collection);
      assert.deepEqual(r!.labels, released, collection);
      // Fixed at creation in GCE: the label says the claim is given up.
      assert.match(String(r!.description), /kube-lbc\.io\/cluster/);
    }
    assert.deepEqual(await provider.listLoadBalancers!(ctx, clusterName), []);
    assert.ok(await provider.getLoadBalancer(ctx, clusterName, svc), 'still found by name');
  });

  it('makes reads only when released again, also after a restart', async () => {
    const svc = newService('web');
    await provider.ensureLoadBalancer(ctx, clusterName, svc, nodes());
    await release(svc);
    const after = inventoryOf(emu);

    const again = new RecordingCalls();
    const restarted = await newGcpProvider(emu, again);
    await restarted.releaseLoadBalancer!(ctx, clusterName, svc);
    await restarted.close?.();

    assert.deepEqual(again.writes(), [], 'a second release wrote');
    assert.ok(again.operations.length > 0, 'it read what it releases');
    assert.deepEqual(inventoryOf(emu), after);
  });

  it('keeps labels others set, and refuses to write over a change made since its read (412)', async () => {
    const svc = newService('web');
    await provider.ensureLoadBalancer(ctx, clusterName, svc, nodes());
    const [rule] = byCollection('forwardingRules');
    const stored = emu.state.get(
      { kind: 'regions', name: emu.region },
      'forwardingRules',
      String(rule!.name),
    )!;
    // Someone labels the rule between the release's read and its write.
    calls.afterCall = (operation) => {
      if (operation !== 'forwardingRules.get' || stored.labels) return;
      stored.labels = { team: 'web' };
      stored.labelFingerprint = emu.state.fingerprint();
    };
    await assert.rejects(release(svc), /conditionNotMet/);
    calls.afterCall = undefined;

    await release(svc);
    assert.deepEqual(byCollection('forwardingRules')[0]!.labels, { team: 'web', ...released });
    assert.deepEqual(await provider.listLoadBalancers!(ctx, clusterName), []);
  });

  it('leaves a user-reserved address unlabelled', async () => {
    const svc = newService('web');
    await provider.ensureLoadBalancer(ctx, clusterName, svc, nodes());
    await release(svc);
    const mine = newService('mine');
    const reserved = await reserveAddress('users-own');
    mine.spec!.loadBalancerIP = reserved;
    await provider.ensureLoadBalancer(ctx, clusterName, mine, nodes());

    await release(mine);
    const own = byCollection('addresses').find((a) => a.name === 'users-own')!;
    assert.ok(!('labels' in own), "the user's reservation was labelled");
    assert.equal(own.description, '');
    assert.deepEqual(await provider.listLoadBalancers!(ctx, clusterName), []);
  });

  it('takes the same resources back on ensure, lists it again, and a delete then removes all', async () => {
    const svc = newService('web');
    await provider.ensureLoadBalancer(ctx, clusterName, svc, nodes());
    const made = inventoryOf(emu);
    const madeIds = ids();
    await release(svc);

    const planned = await provider.planLoadBalancer!(ctx, clusterName, svc, nodes());
    assert.match(
      planned.map((c) => c.description).join('\n'),
      /^set the labels of forwarding rule \S+-tcp$/m,
    );
    const before = calls.writes().length;
    await provider.ensureLoadBalancer(ctx, clusterName, svc, nodes());
    assert.deepEqual(
      calls.writes().slice(before),
      planned.map((c) => c.operation),
      'the take-back made other writes than planned',
    );
    assert.deepEqual(inventoryOf(emu), made, 'not restored to what ensure made');
    assert.deepEqual(ids(), madeIds, 'taken back by making something anew');
    assert.deepEqual(
      (await provider.listLoadBalancers!(ctx, clusterName)).map((lb) => lb.serviceUID),
      [svc.metadata!.uid],
    );
    const mark = calls.writes().length;
    await provider.ensureLoadBalancer(ctx, clusterName, svc, nodes());
    assert.deepEqual(calls.writes().slice(mark), [], 'the take-back left something to do');

    await provider.ensureLoadBalancerDeleted(ctx, clusterName, svc);
    assert.deepEqual(inventoryOf(emu), []);
  });

  it('is not collected as garbage once its Service is gone, unlike an orphan still claimed', async () => {
    const kept = newService('kept');
    const orphan = newService('orphan');
    await provider.ensureLoadBalancer(ctx, clusterName, kept, nodes());
    await provider.ensureLoadBalancer(ctx, clusterName, orphan, nodes());
    await release(kept);
    const keptNames = inventoryOf(emu)
      .filter((r) => r.collection !== 'instanceGroups')
      .map((r) => String(r.name))
      .filter((n) => n.startsWith(provider.loadBalancerName(clusterName, kept)));

    const deleted = await collectGarbage({
      provider,
      clusterName,
      services: () => [],
      getService: async () => undefined,
      logger: noopLogger,
      signal: new AbortController().signal,
      handOff: () => assert.fail('nothing to hand off'),
    });

    assert.equal(deleted, 1, 'the orphan still claimed is collected');
    const left = inventoryOf(emu)
      .filter((r) => r.collection !== 'instanceGroups')
      .map((r) => String(r.name));
    assert.deepEqual(left.sort(), keptNames.sort(), 'the released load balancer was collected');
    assert.ok(keptNames.length >= 6, 'rules, firewalls, backend service, health check, address');
  });

  async function reserveAddress(name: string): Promise<string> {
    const { rawClients } = await import('../../support/compute.js');
    const c = rawClients(emu);
    const [op] = await c.addresses.insert({
      project: emu.project,
      region: emu.region,
      addressResource: { name },
    });
    await c.regionOperations.wait({
      project: emu.project,
      region: emu.region,
      operation: (op.latestResponse as { name: string }).name,
    });
    const [addr] = await c.addresses.get({
      project: emu.project,
      region: emu.region,
      address: name,
    });
    return addr.address!;
  }
});
