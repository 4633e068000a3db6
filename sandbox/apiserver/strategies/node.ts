/**
 * Nodes: cluster-scoped; a create may carry status (the kubelet registers that way), a spec
 * write keeps status and a /status write keeps spec (pkg/registry/core/node/strategy.go).
 */
import { forbiddenField, invalidValue, notSupported, type FieldError } from '../errors.js';
import { metaFields, type KObject, type Strategy } from '../types.js';
import {
  isCIDR,
  objectMetaErrors,
  objectMetaUpdateErrors,
  qualifiedNameErrors,
} from '../validation.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];

function validateNode(node: KObject): FieldError[] {
  const errs = objectMetaErrors(node, 'dns1123Subdomain');
  const spec = node.spec ?? {};
  (spec.podCIDRs ?? (spec.podCIDR ? [spec.podCIDR] : [])).forEach((c: string, i: number) => {
    if (!isCIDR(c)) errs.push(invalidValue(`spec.podCIDRs[${i}]`, c, 'must be a valid CIDR'));
  });
  (spec.taints ?? []).forEach((t: any, i: number) => {
    for (const e of qualifiedNameErrors(t.key ?? ''))
      errs.push(invalidValue(`spec.taints[${i}].key`, t.key ?? '', e));
    if (!EFFECTS.includes(t.effect))
      errs.push(notSupported(`spec.taints[${i}].effect`, t.effect, EFFECTS));
  });
  return errs;
}

export const nodeStrategy: Strategy = {
  allowCreateOnUpdate: false,
  allowUnconditionalUpdate: true,
  defaults(node) {
    const status = node.status;
    if (status?.capacity && !status.allocatable)
      status.allocatable = structuredClone(status.capacity);
  },
  prepareForUpdate(node, old) {
    node.status = old.status;
  },
  prepareForStatusUpdate(node, old) {
    node.spec = old.spec;
  },
  validate: validateNode,
  validateUpdate(node, old) {
    const errs = [...objectMetaUpdateErrors(node, old), ...validateNode(node)];
    if (old.spec?.podCIDR && node.spec?.podCIDR !== old.spec.podCIDR) {
      errs.push(
        forbiddenField(
          'spec.podCIDRs',
          'node updates may not change podCIDR except from "" to valid',
        ),
      );
    }
    if (old.spec?.providerID && node.spec?.providerID !== old.spec.providerID) {
      errs.push(
        forbiddenField(
          'spec.providerID',
          'node updates may not change providerID except from "" to valid',
        ),
      );
    }
    return errs;
  },
  validateStatusUpdate: (node, old) => objectMetaUpdateErrors(node, old),
  selectableFields: (node) => ({
    ...metaFields(node, false),
    'spec.unschedulable': String(node.spec?.unschedulable === true),
  }),
};
