/**
 * What the sandbox needs from a provider's demo: a cloud-config, the nodes' providerIDs, and
 * whether the addresses it hands out answer on this machine. One module per provider in this
 * folder builds it (`local.ts`, `fake.ts`, `aws.ts`); `index.ts` maps names to them.
 */

export interface DemoNode {
  readonly name: string;
  /** The node's InternalIP; demo backends listen on it at the Service's NodePorts. */
  readonly ip: string;
  readonly providerID: string;
}

export interface DemoContext {
  readonly clusterName: string;
  /** Prints one line of the sandbox's output. */
  readonly say: (line?: string) => void;
  /** `--address-pool`, for providers that allocate addresses themselves. */
  readonly addressPool?: string;
  /** The port the sample Service listens on; a provider that binds addresses checks it is free. */
  readonly samplePort: number;
}

export interface ProviderDemo {
  readonly cloudConfig: Readonly<Record<string, unknown>>;
  readonly nodes: readonly DemoNode[];
  /**
   * Whether a Service's ingress carries traffic here (the local balancer does; a fake or remote
   * cloud's addresses do not): the sandbox sends requests through it, and starts demo backends,
   * only then.
   */
  readonly carriesTraffic: boolean;
  /** Lines describing what the cloud holds now, shown after the sample Service is ready. */
  describeCloud?(): readonly string[];
  /** Releases what the demo started (an emulator process); called once at the end. */
  close(): Promise<void>;
}

export type DemoSetup = (ctx: DemoContext) => Promise<ProviderDemo>;

/** Three nodes named as the sandbox has always named them. */
export function sandboxNodes(
  ip: (i: number) => string,
  providerID: (name: string, i: number) => string,
): DemoNode[] {
  return [1, 2, 3].map((i) => {
    const name = `sandbox-node-${i}`;
    return { name, ip: ip(i), providerID: providerID(name, i) };
  });
}
