/**
 * EndpointSlices (discovery.k8s.io/v1): the one kind here that tracks metadata.generation, bumped
 * when anything outside metadata, or the labels, change (pkg/registry/discovery/endpointslice).
 */
import { isDeepStrictEqual } from 'node:util';
import { invalidValue, notSupported, required, type FieldError } from '../errors.js';
import { isIPv4 } from '../allocators.js';
import { metaFields, type KObject, type Strategy } from '../types.js';
import { nameErrors, objectMetaErrors, objectMetaUpdateErrors } from '../validation.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];

function validateSlice(eps: KObject): FieldError[] {
  const errs = objectMetaErrors(eps, 'dns1123Subdomain');
  if (!eps.addressType) errs.push(required('addressType'));
  else if (!ADDRESS_TYPES.includes(eps.addressType))
    errs.push(notSupported('addressType', eps.addressType, ADDRESS_TYPES));
  (eps.endpoints ?? []).forEach((ep: any, i: number) => {
    const addresses: string[] = ep.addresses ?? [];
    if (addresses.length === 0)
      errs.push(required(`endpoints[${i}].addresses`, 'must contain at least 1 address'));
    if (addresses.length > 100)
      errs.push({
        type: 'FieldValueTooLong',
        field: `endpoints[${i}].addresses`,
        detail: 'must have at most 100 items',
      });
    addresses.forEach((a, j) => {
      if (eps.addressType === 'IPv4' && !isIPv4(a))
        errs.push(
          invalidValue(`endpoints[${i}].addresses[${j}]`, a, 'must be a valid IPv4 address'),
        );
    });
  });
  (eps.ports ?? []).forEach((p: any, i: number) => {
    if (p.name)
      for (const e of nameErrors('dns1123Label', p.name))
        errs.push(invalidValue(`ports[${i}].name`, p.name, e));
    if (p.port !== undefined && p.port !== null && (p.port < 1 || p.port > 65535)) {
      errs.push(invalidValue(`ports[${i}].port`, p.port, 'must be between 1 and 65535, inclusive'));
    }
  });
  return errs;
}

const withoutMeta = ({ metadata: _m, ...rest }: KObject) => rest;

export const endpointSliceStrategy: Strategy = {
  allowCreateOnUpdate: false,
  allowUnconditionalUpdate: true,
  defaults(eps) {
    if (eps.endpoints === undefined) eps.endpoints = null;
    // v1beta1's `topology` is `deprecatedTopology` in v1: the old name is an unknown field, dropped.
    for (const ep of eps.endpoints ?? []) delete ep.topology;
    for (const p of eps.ports ?? []) {
      p.name ??= '';
      p.protocol ??= 'TCP';
    }
  },
  prepareForCreate(eps) {
    eps.metadata.generation = 1;
  },
  prepareForUpdate(eps, old) {
    if (
      !isDeepStrictEqual(withoutMeta(eps), withoutMeta(old)) ||
      !isDeepStrictEqual(eps.metadata.labels, old.metadata.labels)
    ) {
      eps.metadata.generation = (old.metadata.generation ?? 0) + 1;
    }
  },
  validate: validateSlice,
  validateUpdate(eps, old) {
    const errs = [...objectMetaUpdateErrors(eps, old), ...validateSlice(eps)];
    if (eps.addressType !== old.addressType)
      errs.push(invalidValue('addressType', eps.addressType, 'field is immutable'));
    return errs;
  },
  selectableFields: (eps) => metaFields(eps, true),
};
