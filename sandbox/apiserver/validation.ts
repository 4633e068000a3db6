/**
 * Validation shared by every kind: names, labels, annotations, finalizers, IPs and CIDRs, with
 * the messages `k8s.io/apimachinery/pkg/util/validation` prints.
 */
import { invalidValue, required, type FieldError } from './errors.js';
import type { KObject } from './types.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export type NameRule = 'dns1035Label' | 'dns1123Label' | 'dns1123Subdomain';

export function nameErrors(rule: NameRule, value: string): string[] {
  switch (rule) {
    case 'dns1035Label':
      return [
        ...(value.length > 63 ? ['must be no more than 63 characters'] : []),
        ...(DNS1035_LABEL.test(value)
          ? []
          : [
              "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
            ]),
      ];
    case 'dns1123Label':
      return [
        ...(value.length > 63 ? ['must be no more than 63 characters'] : []),
        ...(DNS1123_LABEL.test(value)
          ? []
          : [
              "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            ]),
      ];
    case 'dns1123Subdomain':
      return [
        ...(value.length > 253 ? ['must be no more than 253 characters'] : []),
        ...(DNS1123_SUBDOMAIN.test(value)
          ? []
          : [
              "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ]),
      ];
  }
}

export function qualifiedNameErrors(value: string): string[] {
  const parts = value.split('/');
  const errs: string[] = [];
  if (parts.length > 2)
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  const name = parts.pop()!;
  const prefix = parts[0];
  if (prefix !== undefined && (prefix.length === 0 || !DNS1123_SUBDOMAIN.test(prefix)))
    errs.push('prefix part must be a lowercase RFC 1123 subdomain');
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  else if (!QUALIFIED_NAME_PART.test(name)) {
    errs.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
  }
  return errs;
}

export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!LABEL_VALUE.test(value)) {
    errs.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
  }
  return errs;
}

/** Labels as a selector map or metadata.labels: qualified keys, label values. */
export function labelMapErrors(labels: unknown, field: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    for (const e of qualifiedNameErrors(k)) errs.push(invalidValue(field, k, e));
    if (typeof v !== 'string')
      errs.push(invalidValue(`${field}`, v, 'label values must be strings'));
    else for (const e of labelValueErrors(v)) errs.push(invalidValue(field, v, e));
  }
  return errs;
}

/** `ValidateObjectMeta`: the checks every create makes. */
export function objectMetaErrors(obj: KObject, nameRule: NameRule): FieldError[] {
  const m = obj.metadata;
  const errs: FieldError[] = [];
  if (!m.name) errs.push(required('metadata.name', 'name or generateName is required'));
  else
    for (const e of nameErrors(nameRule, m.name))
      errs.push(invalidValue('metadata.name', m.name, e));
  errs.push(...labelMapErrors(m.labels, 'metadata.labels'));
  for (const k of Object.keys(m.annotations ?? {})) {
    for (const e of qualifiedNameErrors(k.toLowerCase()))
      errs.push(invalidValue('metadata.annotations', k, e));
  }
  for (const [i, f] of (m.finalizers ?? []).entries()) {
    for (const e of qualifiedNameErrors(f))
      errs.push(invalidValue(`metadata.finalizers[${i}]`, f, e));
  }
  return errs;
}

/** `ValidateObjectMetaUpdate`: identity does not change. */
export function objectMetaUpdateErrors(obj: KObject, old: KObject): FieldError[] {
  const errs: FieldError[] = [];
  if (obj.metadata.uid !== old.metadata.uid)
    errs.push(invalidValue('metadata.uid', obj.metadata.uid, 'field is immutable'));
  return errs;
}

export function isIP(s: string): boolean {
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s))
    return s.split('.').every((p) => Number(p) <= 255 && !(p.length > 1 && p.startsWith('0')));
  return /^[0-9a-fA-F:]+$/.test(s) && s.includes(':') && s.split('::').length <= 2;
}

export function isCIDR(s: string): boolean {
  const [ip, bits, ...rest] = s.split('/');
  if (rest.length || ip === undefined || bits === undefined || !/^\d+$/.test(bits)) return false;
  return isIP(ip) && Number(bits) <= (ip.includes(':') ? 128 : 32);
}
