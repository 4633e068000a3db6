/**
 * The fake provider's own Service settings, so tests can drive the core's bad-input path and an
 * annotation-driven update without a real cloud.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { FieldError } from '../../contract/provider.js';
import { quote } from '../../contract/quote.js';

/** Present with any value: `validateService` reports it as invalid (with the value as message). */
export const failValidationAnnotation = 'fake.kube-lbc.io/fail-validation';
/** A load-balancer setting: one of `optionValues`. A change is an `UpdateLoadBalancer`. */
export const optionAnnotation = 'fake.kube-lbc.io/option';
export const optionValues = ['enabled', 'disabled'] as const;

export function validateFakeService(service: Readonly<V1Service>): FieldError[] {
  const annotations = service.metadata?.annotations ?? {};
  const errors: FieldError[] = [];
  const failure = annotations[failValidationAnnotation];
  if (failure !== undefined) {
    errors.push({
      field: `metadata.annotations[${failValidationAnnotation}]`,
      message: failure || 'validation failure requested',
    });
  }
  const option = annotations[optionAnnotation];
  if (option !== undefined && !(optionValues as readonly string[]).includes(option)) {
    errors.push({
      field: `metadata.annotations[${optionAnnotation}]`,
      message: `unsupported value ${quote(option)}: must be one of ${optionValues.join(', ')}`,
    });
  }
  return errors;
}
