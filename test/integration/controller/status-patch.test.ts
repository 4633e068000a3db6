import assert from 'node:assert/strict';
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Service,
} from '@kubernetes/client-node';
import { LOAD_BALANCER_READY_CONDITION, patchStatus } from '../../../controllers/service/status.js';
import { newPostedService } from '../../fixtures/builders.js';
import { openTestApiServer, type TestApiServer } from '../../support/cluster.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const foreign = {
  type: 'example.com/Audited',
  status: 'True',
  reason: 'Checked',
  message: 'written by another controller',
  lastTransitionTime: new Date('2026-01-01T00:00:00Z'),
};

describe('patchStatus beside another writer of Service conditions', () => {
  let server: TestApiServer;
  let core: CoreV1Api;
  /** The Service as kube-lbc's cache held it before the other writer's condition arrived. */
  let cached: V1Service;

  beforeEach(async () => {
    server = await openTestApiServer();
    core = server.kubeConfig().makeApiClient(CoreV1Api);
    cached = await core.createNamespacedService({
      namespace: 'default',
      body: newPostedService('web'),
    });
    await core.patchNamespacedServiceStatus(
      { name: 'web', namespace: 'default', body: { status: { conditions: [foreign] } } },
      mergePatch,
    );
  });
  afterEach(() => server.close());

  const conditionTypes = async () =>
    (
      (await core.readNamespacedServiceStatus({ name: 'web', namespace: 'default' })).status
        ?.conditions ?? []
    )
      .map((c) => c.type)
      .sort();

  it("keeps the other writer's condition when it sets ours from a stale copy", async () => {
    await patchStatus(core, cached, {
      ingress: [{ ip: '192.0.2.10' }],
      ready: { reason: 'Ready', message: 'ok' },
    });
    assert.deepEqual(await conditionTypes(), [LOAD_BALANCER_READY_CONDITION, foreign.type].sort());
  });

  it("keeps the other writer's condition when it removes ours", async () => {
    const written = await patchStatus(core, cached, {
      ingress: [{ ip: '192.0.2.10' }],
      ready: { reason: 'Ready', message: 'ok' },
    });
    await patchStatus(core, written!, { ingress: [], ready: null });
    assert.deepEqual(await conditionTypes(), [foreign.type]);
    const svc = await core.readNamespacedServiceStatus({ name: 'web', namespace: 'default' });
    assert.equal(svc.status?.loadBalancer?.ingress?.length ?? 0, 0);
  });
});
