/** The real `@google-cloud/compute` clients pointed at a Compute emulator, as the tests use them. */
import compute from '@google-cloud/compute';
import { PassThroughClient } from 'google-auth-library';
import type { ComputeEmulator } from '../../sandbox/compute/index.js';

export function rawClients(emulator: ComputeEmulator) {
  const opts = {
    apiEndpoint: '127.0.0.1',
    port: emulator.port,
    protocol: 'http',
    fallback: true,
    authClient: new PassThroughClient(),
  } as const;
  return {
    addresses: new compute.AddressesClient(opts),
    instances: new compute.InstancesClient(opts),
    instanceGroups: new compute.InstanceGroupsClient(opts),
    healthChecks: new compute.RegionHealthChecksClient(opts),
    backendServices: new compute.RegionBackendServicesClient(opts),
    forwardingRules: new compute.ForwardingRulesClient(opts),
    firewalls: new compute.FirewallsClient(opts),
    regionOperations: new compute.RegionOperationsClient(opts),
    zoneOperations: new compute.ZoneOperationsClient(opts),
    globalOperations: new compute.GlobalOperationsClient(opts),
  };
}

/** The Google error an SDK call failed with: status, reason and message from the JSON body. */
export function googleError(err: unknown): { status: number; reason: string; message: string } {
  const e = err as { status?: number; code?: number; message?: string };
  const body = JSON.parse(e.message ?? '{}') as {
    error?: { message?: string; errors?: { reason?: string }[] };
  };
  return {
    status: e.status ?? e.code ?? 0,
    reason: body.error?.errors?.[0]?.reason ?? '',
    message: body.error?.message ?? '',
  };
}
