/**
 * Events, stored once in the core/v1 form and served as core/v1 and events.k8s.io/v1 (renamed
 * fields converted both ways), each version validated by its own rules (pkg/apis/core/validation/
 * events.go): an event without eventTime only has to agree on namespace with its involved
 * object; one with it needs the reporting fields, action and reason; events.k8s.io also wants
 * eventTime, and the legacy fields unset. Errors name the core fields and no group: both versions
 * validate the one internal (core) Event. Cluster-scoped objects (Nodes) have events in `default`.
 */
import { invalidValue, required, type FieldError } from '../errors.js';
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
const tooLong = (field: string, limit: number) =>
  invalidValue(field, '', `can have at most ${limit} characters`);

/**
 * legacyValidateEvent, which every event passes whatever its version: without eventTime only the
 * namespaces must agree; with it the reporting fields, action and reason are needed too.
 */
function legacyErrors(ev: KObject, controllerField: string): FieldError[] {
  const errs: FieldError[] = [];
  const ns = ev.metadata.namespace ?? '';
  const involvedNs = ev.involvedObject?.namespace ?? '';
  const mismatch = () =>
    errs.push(
      invalidValue('involvedObject.namespace', involvedNs, 'does not match event.namespace'),
    );
  if (!isSet(ev.eventTime)) {
    if (involvedNs ? ns !== involvedNs : ns !== '' && ns !== 'default') mismatch();
  } else {
    if (!involvedNs && ns !== 'default' && ns !== 'kube-system') mismatch();
    const controller = ev.reportingComponent ?? '';
    if (!controller) errs.push(required(controllerField));
    for (const e of qualifiedNameErrors(controller))
      errs.push(invalidValue(controllerField, controller, e));
    if (!ev.reportingInstance) errs.push(required('reportingInstance'));
    else if (ev.reportingInstance.length > 128) errs.push(tooLong('reportingInstance', 128));
    if (!ev.action) errs.push(required('action'));
    else if (ev.action.length > 128) errs.push(tooLong('action', 128));
    if (!ev.reason) errs.push(required('reason'));
    else if (ev.reason.length > 128) errs.push(tooLong('reason', 128));
    if ((ev.message ?? '').length > 1024) errs.push(tooLong('message', 1024));
  }
  for (const e of nameErrors('dns1123Subdomain', ns)) errs.push(invalidValue('namespace', ns, e));
  return errs;
}

function validateCore(ev: KObject): FieldError[] {
  return [...objectMetaErrors(ev, 'dns1123Subdomain'), ...legacyErrors(ev, 'reportingComponent')];
}

/** The strict rules events.k8s.io/v1 adds (field paths name the internal, core fields). */
function validateEventsV1(ev: KObject): FieldError[] {
  const errs = [
    ...objectMetaErrors(ev, 'dns1123Subdomain'),
    ...legacyErrors(ev, 'reportingController'),
  ];
  if (ev.series) {
    if (!(ev.series.count >= 2))
      errs.push(invalidValue('series.count', '', 'should be at least 2'));
    if (!isSet(ev.series.lastObservedTime)) errs.push(required('series.lastObservedTime'));
  }
  if (!isSet(ev.eventTime)) errs.push(required('eventTime'));
  if (ev.type !== 'Normal' && ev.type !== 'Warning')
    errs.push(invalidValue('type', '', `has invalid value: ${ev.type ?? ''}`));
  for (const legacy of ['firstTimestamp', 'lastTimestamp'] as const)
    if (isSet(ev[legacy])) errs.push(invalidValue(legacy, '', 'needs to be unset'));
  if (ev.count) errs.push(invalidValue('count', '', 'needs to be unset'));
  if (ev.source?.component || ev.source?.host)
    errs.push(invalidValue('source', '', 'needs to be unset'));
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
