/**
 * Namespaces: created Active with the `kubernetes` spec finalizer and the
 * kubernetes.io/metadata.name label; deletion is a phase change handled by namespaces.ts.
 */
import { metaFields, type Strategy } from '../types.js';
import { objectMetaErrors, objectMetaUpdateErrors } from '../validation.js';

export const namespaceStrategy: Strategy = {
  allowCreateOnUpdate: false,
  allowUnconditionalUpdate: true,
  defaults(ns) {
    if (ns.metadata.name)
      ns.metadata.labels = {
        ...ns.metadata.labels,
        'kubernetes.io/metadata.name': ns.metadata.name,
      };
  },
  prepareForCreate(ns) {
    ns.status = { phase: 'Active' };
    ns.spec = { ...ns.spec, finalizers: ['kubernetes'] };
  },
  prepareForUpdate(ns, old) {
    ns.spec = { ...ns.spec, finalizers: old.spec?.finalizers };
    ns.status = old.status;
  },
  prepareForStatusUpdate(ns, old) {
    ns.spec = old.spec;
  },
  validate: (ns) => objectMetaErrors(ns, 'dns1123Label'),
  validateUpdate: (ns, old) => [
    ...objectMetaUpdateErrors(ns, old),
    ...objectMetaErrors(ns, 'dns1123Label'),
  ],
  selectableFields: (ns) => ({ ...metaFields(ns, false), 'status.phase': ns.status?.phase ?? '' }),
};
