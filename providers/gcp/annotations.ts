/**
 * Service annotations, as GKE users know them. Each bad value is a field error naming the
 * annotation; the core turns those into a Warning Event and changes nothing in the cloud.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { FieldError } from '../../contract/provider.js';

export const annotation = {
  networkTier: 'cloud.google.com/network-tier',
  type: 'networking.gke.io/load-balancer-type',
  globalAccess: 'networking.gke.io/internal-load-balancer-allow-global-access',
  subnet: 'networking.gke.io/internal-load-balancer-subnet',
} as const;

export interface GcpServiceSettings {
  readonly internal: boolean;
  readonly networkTier: 'PREMIUM' | 'STANDARD';
  readonly globalAccess: boolean;
  /** The subnetwork name an internal load balancer's address comes from; the config's when unset. */
  readonly subnet?: string;
}

const gceName = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const field = (key: string) => `metadata.annotations[${key}]`;

export function parseSettings(service: Readonly<V1Service>): {
  settings: GcpServiceSettings;
  errors: FieldError[];
} {
  const a = service.metadata?.annotations ?? {};
  const errors: FieldError[] = [];
  const fail = (key: string, message: string) => errors.push({ field: field(key), message });

  const type = a[annotation.type];
  let internal = false;
  if (type !== undefined) {
    if (type === 'Internal') internal = true;
    else if (type !== 'External')
      fail(annotation.type, `"${type}" is not "Internal" or "External"`);
  }

  let networkTier: GcpServiceSettings['networkTier'] = 'PREMIUM';
  const tier = a[annotation.networkTier];
  if (tier !== undefined) {
    if (tier === 'Standard') networkTier = 'STANDARD';
    else if (tier !== 'Premium')
      fail(annotation.networkTier, `"${tier}" is not "Standard" or "Premium"`);
    else if (internal) fail(annotation.networkTier, 'applies to external load balancers only');
  }

  let globalAccess = false;
  const access = a[annotation.globalAccess];
  if (access !== undefined) {
    if (access !== 'true' && access !== 'false')
      fail(annotation.globalAccess, `"${access}" is not "true" or "false"`);
    else if (!internal)
      fail(annotation.globalAccess, `applies only with ${annotation.type}: Internal`);
    else globalAccess = access === 'true';
  }

  let subnet: string | undefined;
  const s = a[annotation.subnet];
  if (s !== undefined) {
    if (!gceName.test(s)) fail(annotation.subnet, `"${s}" is not a subnetwork name`);
    else if (!internal) fail(annotation.subnet, `applies only with ${annotation.type}: Internal`);
    else subnet = s;
  }
  return {
    settings: { internal, networkTier, globalAccess, ...(subnet ? { subnet } : {}) },
    errors,
  };
}
