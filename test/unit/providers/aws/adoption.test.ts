import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  adoptFromAnnotation,
  adoptFromOf,
  previousManagedGroupName,
  previousOwnerNames,
  previousTargetGroupPrefix,
  validateAdoptFrom,
} from '../../../../providers/aws/adoption.js';
import { parseAwsConfig } from '../../../../providers/aws/config.js';
import { ProviderConfigError } from '../../../../contract/errors.js';
import { newService, tweakAnnotations, tweakNamespace } from '../../../fixtures/builders.js';

describe('aws adoption: previous owners, by their own rules', () => {
  const uid = '3f2a9c1e-1b2d-4c5e-8f90-0a1b2c3d4e5f';
  const service = newService('my-web.app', tweakNamespace('team-payments'), (s) => {
    s.metadata!.uid = uid;
  });

  it("names cloud-provider-aws's NLB `a` + the UID without dashes, 32 characters", () => {
    assert.deepEqual(previousOwnerNames('cloud-provider-aws', 'c1', service), [
      'a3f2a9c1e1b2d4c5e8f900a1b2c3d4e5',
    ]);
  });

  it("names aws-load-balancer-controller's NLB from sha256(cluster, UID, scheme), both schemes", () => {
    const hash = (scheme: string) =>
      createHash('sha256').update(`c1${uid}${scheme}`).digest('hex').slice(0, 10);
    assert.deepEqual(previousOwnerNames('aws-load-balancer-controller', 'c1', service), [
      `k8s-teampaym-mywebapp-${hash('internet-facing')}`,
      `k8s-teampaym-mywebapp-${hash('internal')}`,
    ]);
    assert.equal(previousTargetGroupPrefix(service), 'k8s-teampaym-mywebapp-');
  });

  it("names both owners' managed NLB group from sha256(cluster, name, namespace, UID)", () => {
    const hash = createHash('sha256')
      .update(`c1my-web.appteam-payments${uid}`)
      .digest('hex')
      .slice(0, 10);
    assert.equal(previousManagedGroupName('c1', service), `k8s-teampaym-mywebapp-${hash}`);
  });

  it('takes the opt-in from the annotation first, else the cloud-config', () => {
    assert.equal(adoptFromOf(service, {}), undefined);
    assert.equal(adoptFromOf(service, { adoptFrom: 'cloud-provider-aws' }), 'cloud-provider-aws');
    const annotated = newService(
      'web',
      tweakAnnotations({ [adoptFromAnnotation]: 'aws-load-balancer-controller' }),
    );
    assert.equal(
      adoptFromOf(annotated, { adoptFrom: 'cloud-provider-aws' }),
      'aws-load-balancer-controller',
    );
    assert.deepEqual(validateAdoptFrom(annotated), []);
  });

  it('refuses another value, naming the annotation', () => {
    const bad = newService('web', tweakAnnotations({ [adoptFromAnnotation]: 'in-tree' }));
    assert.deepEqual(
      validateAdoptFrom(bad).map((e) => e.field),
      [`metadata.annotations[${adoptFromAnnotation}]`],
    );
    assert.equal(adoptFromOf(bad, { adoptFrom: 'cloud-provider-aws' }), undefined);
  });

  it('accepts adoptFrom in the cloud-config, and refuses an unknown owner naming it', () => {
    assert.equal(
      parseAwsConfig({ adoptFrom: 'cloud-provider-aws' }).adoptFrom,
      'cloud-provider-aws',
    );
    assert.throws(
      () => parseAwsConfig({ adoptFrom: 'nginx' }),
      (err: unknown) => err instanceof ProviderConfigError && /adoptFrom/.test(err.message),
    );
  });
});
