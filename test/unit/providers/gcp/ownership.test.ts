import assert from 'node:assert/strict';
import {
  isReleased,
  ownedBy,
  parseOwner,
  releasedDescription,
  serviceDescription,
} from '../../../../providers/gcp/ownership.js';
import { newService, tweakNamespace } from '../../../fixtures/builders.js';

describe('gcp ownership marks', () => {
  const svc = newService('web', tweakNamespace('shop'));
  const uid = svc.metadata!.uid!;

  it('claims a resource for the cluster and Service UID in its description', () => {
    const d = serviceDescription('prod', svc);
    assert.deepEqual(parseOwner(d), { cluster: 'prod', uid, namespace: 'shop', name: 'web' });
    assert.ok(ownedBy(d, 'prod', uid));
    assert.ok(!ownedBy(d, 'staging', uid), 'another cluster');
    assert.ok(!ownedBy(d, 'prod', 'another-uid'), 'another Service');
  });

  it("releases to cloud-provider-gcp's shape, which claims nothing", () => {
    const d = releasedDescription(svc);
    assert.deepEqual(JSON.parse(d), { 'kubernetes.io/service-name': 'shop/web' });
    assert.equal(parseOwner(d), undefined);
    assert.ok(!ownedBy(d, 'prod', uid));
  });

  it('reads the released label only as "true"', () => {
    assert.ok(isReleased({ 'kube-lbc-released': 'true', team: 'web' }));
    const notReleased: (Record<string, string> | null | undefined)[] = [
      undefined,
      null,
      {},
      { 'kube-lbc-released': 'false' },
    ];
    for (const labels of notReleased) {
      assert.ok(!isReleased(labels), JSON.stringify(labels));
    }
  });
});
