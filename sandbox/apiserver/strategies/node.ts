/**
 * Nodes: cluster-scoped; a create may carry status (the kubelet registers that way), a spec
 * write keeps status and a /status write keeps spec (pkg/registry/core/node/strategy.go).
 */
import { isDeepStrictEqual } from 'node:util';
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
const NOT_READY_TAINT = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };
const EMPTY_NODE_INFO = Object.fromEntries(
  [
    'machineID',
    'systemUUID',
    'bootID',
    'kernelVersion',
    'osImage',
    'containerRuntimeVersion',
    'kubeletVersion',
    'kubeProxyVersion',
    'operatingSystem',
    'architecture',
  ].map((k) => [k, '']),
);

/**
 * Old's spec with every change ValidateNodeUpdate lets through applied from the new one: taints,
 * unschedulable, configSource, and providerID or podCIDRs when they were unset. What still
 * differs from the new spec is a forbidden change.
 */
function withAllowedChanges(node: KObject, old: KObject): Record<string, unknown> {
  const spec = { ...old.spec };
  const next = node.spec ?? {};
  for (const key of ['taints', 'unschedulable', 'configSource']) spec[key] = next[key];
  if (!old.spec?.providerID) spec.providerID = next.providerID;
  if (!(old.spec?.podCIDRs ?? []).length && !old.spec?.podCIDR) {
    spec.podCIDR = next.podCIDR;
    spec.podCIDRs = next.podCIDRs;
  }
  return spec;
}

/** Go's semantic equality ignores the difference between absent, empty and false. */
const normalize = (spec: Record<string, unknown> | undefined) =>
  Object.fromEntries(
    Object.entries(spec ?? {}).filter(
      ([, v]) =>
        v !== undefined &&
        v !== null &&
        v !== '' &&
        v !== false &&
        !(Array.isArray(v) && v.length === 0),
    ),
  );

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
    // NodeStatus's struct fields have no omitempty: the real server always writes them out.
    const status = (node.status ??= {});
    if (status.capacity && !status.allocatable)
      status.allocatable = structuredClone(status.capacity);
    status.daemonEndpoints = {
      ...status.daemonEndpoints,
      kubeletEndpoint: { Port: 0, ...status.daemonEndpoints?.kubeletEndpoint },
    };
    status.nodeInfo = { ...EMPTY_NODE_INFO, ...status.nodeInfo };
    for (const c of status.conditions ?? []) {
      c.lastHeartbeatTime ??= null;
      c.lastTransitionTime ??= null;
    }
  },
  // The TaintNodesByCondition admission plugin: a new Node is not ready until its kubelet says so.
  prepareForCreate(node) {
    const taints: any[] = (node.spec ??= {}).taints ?? [];
    if (!taints.some((t) => t.key === NOT_READY_TAINT.key && t.effect === NOT_READY_TAINT.effect))
      node.spec.taints = [...taints, { ...NOT_READY_TAINT }];
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
    if (!isDeepStrictEqual(normalize(node.spec), normalize(withAllowedChanges(node, old))))
      errs.push(
        forbiddenField(
          '[]',
          'node updates may only change labels, taints, or capacity (or configSource, if the DynamicKubeletConfig feature gate is enabled)',
        ),
      );
    return errs;
  },
  validateStatusUpdate: (node, old) => objectMetaUpdateErrors(node, old),
  selectableFields: (node) => ({
    ...metaFields(node, false),
    'spec.unschedulable': String(node.spec?.unschedulable === true),
  }),
};
