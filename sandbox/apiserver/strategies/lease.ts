/**
 * Leases (coordination.k8s.io/v1), what leader election writes: an update needs the
 * resourceVersion it read (AllowUnconditionalUpdate is false), so two candidates racing get a
 * 409, and the times are MicroTime, which the real decoder only takes with six fraction digits.
 */
import { invalidValue, type FieldError } from '../errors.js';
import { metaFields, type KObject, type Strategy } from '../types.js';
import { objectMetaErrors, objectMetaUpdateErrors } from '../validation.js';
import { checkMicroTime } from './time.js';

function validateLease(lease: KObject): FieldError[] {
  const errs = objectMetaErrors(lease, 'dns1123Subdomain');
  const spec = lease.spec ?? {};
  if (
    spec.leaseDurationSeconds !== undefined &&
    spec.leaseDurationSeconds !== null &&
    spec.leaseDurationSeconds <= 0
  ) {
    errs.push(
      invalidValue(
        'spec.leaseDurationSeconds',
        spec.leaseDurationSeconds,
        'must be greater than 0',
      ),
    );
  }
  if (
    spec.leaseTransitions !== undefined &&
    spec.leaseTransitions !== null &&
    spec.leaseTransitions < 0
  ) {
    errs.push(
      invalidValue(
        'spec.leaseTransitions',
        spec.leaseTransitions,
        'must be greater than or equal to 0',
      ),
    );
  }
  return errs;
}

export const leaseStrategy: Strategy = {
  allowCreateOnUpdate: true,
  allowUnconditionalUpdate: false,
  defaults(lease) {
    lease.spec ??= {};
    checkMicroTime('Lease', 'coordination.k8s.io/v1', lease.spec.acquireTime);
    checkMicroTime('Lease', 'coordination.k8s.io/v1', lease.spec.renewTime);
  },
  validate: validateLease,
  validateUpdate: (lease, old) => [...objectMetaUpdateErrors(lease, old), ...validateLease(lease)],
  selectableFields: (lease) => metaFields(lease, true),
};
