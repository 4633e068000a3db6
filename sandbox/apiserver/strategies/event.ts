/**
 * Events, stored once in the core/v1 form and served as core/v1 and events.k8s.io/v1 (renamed
 * fields converted both ways), each version validated by its own rules (pkg/apis/core/validation/
 * events.go): a legacy core event only has to agree on namespace with its involved object; an
 * events.k8s.io event, or a core one with eventTime set, needs reportingController/Instance,
 * action and reason. Cluster-scoped objects (Nodes) have their events in `default`.
 */
import { invalidValue, notSupported, required, type FieldError } from '../errors.js';
import { metaFields, type KObject, type ResourceType, type Strategy } from '../types.js';
import {
  nameErrors,
  objectMetaErrors,
  objectMetaUpdateErrors,
  qualifiedNameErrors,
} from '../validation.js';
import { checkMicroTime } from './time.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** events.k8s.io/v1 name -> core/v1 name, for the fields that differ. */
const RENAMES: Record<string, string> = {
  regarding: 'involvedObject',
  note: 'message',
  deprecatedSource: 'source',
  deprecatedFirstTimestamp: 'firstTimestamp',
  deprecatedLastTimestamp: 'lastTimestamp',
  deprecatedCount: 'count',
  reportingController: 'reportingComponent',
};
const REVERSE = Object.fromEntries(Object.entries(RENAMES).map(([k, v]) => [v, k]));

function rename(obj: KObject, names: Record<string, string>, apiVersion: string): KObject {
  const out: KObject = { metadata: obj.metadata };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'metadata') continue;
    out[names[k] ?? k] = v;
  }
  if (obj.kind) out.kind = 'Event';
  if (obj.apiVersion) out.apiVersion = apiVersion;
  return out;
}

export const eventsV1Conversion: NonNullable<ResourceType['conversion']> = {
  storageVersion: 'v1',
  toStorage: (obj) => rename(obj, RENAMES, 'v1'),
  fromStorage: (obj) => rename(obj, REVERSE, 'events.k8s.io/v1'),
  fieldLabel: (label) => {
    const [head, ...rest] = label.split('.');
    const mapped = RENAMES[head!];
    return mapped ? [mapped, ...rest].join('.') : label;
  },
};

const isSet = (v: unknown) => v !== undefined && v !== null && v !== '';

function namespaceErrors(ev: KObject): FieldError[] {
  const ns = ev.metadata.namespace ?? '';
  const involvedNs = ev.involvedObject?.namespace ?? '';
  const legacy = !isSet(ev.eventTime);
  const ok = involvedNs
    ? ns === involvedNs
    : legacy
      ? ns === '' || ns === 'default'
      : ns === 'default' || ns === 'kube-system';
  return ok
    ? []
    : [invalidValue('involvedObject.namespace', involvedNs, 'does not match event.namespace')];
}

/** The rules for an event with eventTime: every events.k8s.io event, and new-style core ones. */
function newStyleErrors(ev: KObject, names: Record<string, string>): FieldError[] {
  const errs: FieldError[] = [];
  const controller = names.reportingComponent ?? 'reportingComponent';
  if (!ev.reportingComponent) errs.push(required(controller));
  else
    for (const e of qualifiedNameErrors(ev.reportingComponent))
      errs.push(invalidValue(controller, ev.reportingComponent, e));
  if (!ev.reportingInstance) errs.push(required('reportingInstance'));
  else if (ev.reportingInstance.length > 128)
    errs.push(invalidValue('reportingInstance', '', 'can have at most 128 characters'));
  if (!ev.action) errs.push(required('action'));
  else if (ev.action.length > 128)
    errs.push(invalidValue('action', '', 'can have at most 128 characters'));
  if (!ev.reason) errs.push(required('reason'));
  else if (ev.reason.length > 128)
    errs.push(invalidValue('reason', '', 'can have at most 128 characters'));
  if ((ev.message ?? '').length > 1024)
    errs.push(invalidValue(names.message ?? 'message', '', 'can have at most 1024 characters'));
  return errs;
}

function validateCore(ev: KObject): FieldError[] {
  const errs = objectMetaErrors(ev, 'dns1123Subdomain');
  errs.push(...namespaceErrors(ev));
  if (isSet(ev.eventTime)) errs.push(...newStyleErrors(ev, {}));
  for (const e of nameErrors('dns1123Subdomain', ev.metadata.namespace ?? ''))
    errs.push(invalidValue('namespace', ev.metadata.namespace, e));
  return errs;
}

function validateEventsV1(ev: KObject): FieldError[] {
  const errs = objectMetaErrors(ev, 'dns1123Subdomain');
  if (!isSet(ev.eventTime)) errs.push(required('eventTime'));
  if (ev.type !== 'Normal' && ev.type !== 'Warning')
    errs.push(notSupported('type', ev.type ?? '', ['Normal', 'Warning']));
  for (const legacy of ['firstTimestamp', 'lastTimestamp'] as const) {
    if (isSet(ev[legacy]))
      errs.push(invalidValue(REVERSE[legacy]!, ev[legacy], 'needs to be unset'));
  }
  if (ev.count) errs.push(invalidValue('deprecatedCount', ev.count, 'needs to be unset'));
  if (ev.source && (ev.source.component || ev.source.host))
    errs.push(invalidValue('deprecatedSource', ev.source, 'needs to be unset'));
  errs.push(...namespaceErrors(ev).map((e) => ({ ...e, field: 'regarding.namespace' })));
  errs.push(...newStyleErrors(ev, REVERSE));
  return errs;
}

/** @param version which API version's rules apply: the storage form is the same for both. */
export function eventStrategy(version: 'v1' | 'events.k8s.io/v1'): Strategy {
  const validate = version === 'v1' ? validateCore : validateEventsV1;
  const kindVersion = version;
  return {
    allowCreateOnUpdate: true,
    allowUnconditionalUpdate: true,
    defaults(ev) {
      checkMicroTime('Event', kindVersion, ev.eventTime);
      checkMicroTime('Event', kindVersion, ev.series?.lastObservedTime);
      ev.involvedObject ??= {};
      ev.source ??= {};
      ev.firstTimestamp ??= null;
      ev.lastTimestamp ??= null;
      ev.eventTime ??= null;
      ev.reportingComponent ??= '';
      ev.reportingInstance ??= '';
    },
    validate,
    validateUpdate: (ev, old) => [...objectMetaUpdateErrors(ev, old), ...validate(ev)],
    selectableFields: (ev) => ({
      ...metaFields(ev, true),
      'involvedObject.kind': ev.involvedObject?.kind ?? '',
      'involvedObject.namespace': ev.involvedObject?.namespace ?? '',
      'involvedObject.name': ev.involvedObject?.name ?? '',
      'involvedObject.uid': ev.involvedObject?.uid ?? '',
      'involvedObject.apiVersion': ev.involvedObject?.apiVersion ?? '',
      'involvedObject.resourceVersion': ev.involvedObject?.resourceVersion ?? '',
      'involvedObject.fieldPath': ev.involvedObject?.fieldPath ?? '',
      reason: ev.reason ?? '',
      reportingComponent: ev.reportingComponent ?? '',
      source: ev.source?.component ?? '',
      type: ev.type ?? '',
    }),
  };
}
