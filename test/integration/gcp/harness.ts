/** The GCP provider's tests: a Compute emulator with seeded nodes, and providers over it. */
import type { V1Node } from '@kubernetes/client-node';
import { createGcpProvider } from '../../../providers/gcp/index.js';
import { gcpCallBudgets } from '../../../providers/gcp/clients.js';
import type { LoadBalancerProvider, ProviderOptions } from '../../../contract/provider.js';
import { noopLogger } from '../../../contract/logger.js';
import type { CallOptions } from '../../../contract/cloud-calls.js';
import { CloudCallGate } from '../../../runtime/cloud-calls.js';
import { isWriteOperation } from '../../../providers/conformance/options.js';
import { ComputeEmulator } from '../../../sandbox/compute/index.js';
import { newNode, tweakProviderID } from '../../fixtures/builders.js';

export const clusterName = 'gcp-test';
export const nodeTag = 'gke-node';

/** Six instances over two zones: node-1..3 in -a, node-4..6 in -b. */
export async function startEmulator(): Promise<ComputeEmulator> {
  const emu = await ComputeEmulator.start({ project: 'kube-lbc-test', region: 'us-central1' });
  seedNodes(emu);
  return emu;
}

export function seedNodes(emu: ComputeEmulator): void {
  for (let i = 1; i <= 6; i++) {
    emu.seedInstance({
      name: `node-${i}`,
      zone: zoneOf(emu, i),
      tags: [nodeTag],
      networkIP: `10.128.0.${10 + i}`,
    });
  }
}

function zoneOf(emu: ComputeEmulator, i: number): string {
  return emu.zones[i <= 3 ? 0 : 1]!;
}

export function nodesOf(emu: ComputeEmulator, ...numbers: number[]): V1Node[] {
  return numbers.map((i) =>
    newNode(`node-${i}`, tweakProviderID(`gce://${emu.project}/${zoneOf(emu, i)}/node-${i}`)),
  );
}

export function gcpConfig(emu: ComputeEmulator): Record<string, unknown> {
  return { project: emu.project, region: emu.region, apiEndpoint: emu.endpoint };
}

/** Budgets a hundred times wider: waiting out Google-sized buckets against an emulator proves nothing. */
export const widened = Object.fromEntries(
  Object.entries(gcpCallBudgets).map(([name, b]) => [
    name,
    { qps: b.qps * 100, burst: b.burst * 100, concurrency: b.concurrency },
  ]),
) as unknown as typeof gcpCallBudgets;

export async function newGcpProvider(
  emu: ComputeEmulator,
  cloudCalls: CloudCallGate = new CloudCallGate(),
  extra: Partial<ProviderOptions> = {},
): Promise<LoadBalancerProvider> {
  const provider = await createGcpProvider({
    config: gcpConfig(emu),
    clusterName,
    logger: noopLogger,
    cloudCalls,
    cluster: { services: () => [], nodes: () => [] },
    ...extra,
  });
  Object.assign(provider, { callBudgets: widened });
  cloudCalls.configure(widened);
  return provider;
}

/** The emulator's inventory without what each create allocates anew. */
export function inventoryOf(emu: ComputeEmulator): Record<string, unknown>[] {
  return emu.inventory().map(({ region: _r, zone: _z, ...rest }) => rest);
}

/** A gate that records each call and can stop the run after the k-th write, as a crash would. */
export class RecordingCalls extends CloudCallGate {
  readonly operations: string[] = [];
  /** Throw after the n-th write has reached the cloud, as if the process died then. */
  crashAfterWrite?: number;
  /** Told after each call the cloud answered, before the provider hears back. */
  afterCall?: (operation: string) => void;

  override async call<T>(
    budget: string,
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    options?: CallOptions<T>,
  ): Promise<T> {
    const result = await super.call(budget, operation, fn, options);
    this.operations.push(operation);
    this.afterCall?.(operation);
    if (this.crashAfterWrite !== undefined && this.writes().length === this.crashAfterWrite) {
      this.crashAfterWrite = undefined;
      throw new Error(`simulated crash after write ${this.writes().length} (${operation})`);
    }
    return result;
  }

  writes(): string[] {
    return this.operations.filter(isWriteOperation);
  }
}
