/**
 * The servers the contract cases run against: always the emulator, and the server behind
 * $KUBECONFIG when it is set. Each target works in a namespace of its own and removes what it
 * made (a real server without a namespace controller leaves the namespace Terminating).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CoordinationV1Api,
  CoreV1Api,
  EventsV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  VersionApi,
} from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../../sandbox/apiserver/index.js';

export type TargetKind = 'emulator' | 'real';

export interface Target {
  readonly kind: TargetKind;
  readonly kc: KubeConfig;
  /** For `kubectl --kubeconfig`. */
  readonly kubeconfigPath: string;
  /** /version's minor, as a number: 20 for the Debian-built 1.20 server. */
  readonly minor: number;
  readonly gitVersion: string;
  /** A namespace made for this run. */
  readonly ns: string;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly events: EventsV1Api;
  /** The emulator, when that is the target (fault injection, audit). */
  readonly emulator?: ApiServer;
  /** A name unique to this run. */
  name(prefix: string): string;
  /** Remembers a Node to delete at the end (Nodes are cluster-wide). */
  ownNode(name: string): void;
  /** `kubectl` against this target; resolves with stdout, rejects with stderr in the message. */
  kubectl(...args: string[]): Promise<string>;
  close(): Promise<void>;
}

export const targetKinds = (): TargetKind[] =>
  process.env.KUBECONFIG ? ['emulator', 'real'] : ['emulator'];

export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

const run = promisify(execFile);
let counter = 0;

export async function openTarget(kind: TargetKind): Promise<Target> {
  let emulator: ApiServer | undefined;
  const kc = new KubeConfig();
  const dir = mkdtempSync(join(tmpdir(), 'kube-lbc-contract-'));
  let kubeconfigPath: string;
  if (kind === 'emulator') {
    emulator = await startApiServer();
    kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, emulator.kubeconfigYaml());
    kc.loadFromFile(kubeconfigPath);
  } else {
    kubeconfigPath = process.env.KUBECONFIG!;
    kc.loadFromFile(kubeconfigPath);
  }
  const core = kc.makeApiClient(CoreV1Api);
  const version = await kc.makeApiClient(VersionApi).getCode();
  const run_ = `${Date.now().toString(36)}${(counter++).toString(36)}`;
  const ns = `contract-${run_}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
  const nodes = new Set<string>();
  return {
    kind,
    kc,
    kubeconfigPath,
    minor: Number.parseInt(version.minor, 10),
    gitVersion: version.gitVersion,
    ns,
    core,
    coordination: kc.makeApiClient(CoordinationV1Api),
    events: kc.makeApiClient(EventsV1Api),
    emulator,
    name: (prefix) => `${prefix}-${run_}-${(counter++).toString(36)}`,
    ownNode: (name) => nodes.add(name),
    async kubectl(...args) {
      try {
        const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfigPath, ...args], {
          timeout: 20_000,
        });
        return stdout;
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new Error(`kubectl ${args.join(' ')}: ${e.stderr || e.message}`);
      }
    },
    async close() {
      // Services keep their NodePorts until deleted: free them on a shared real server.
      const services = await core
        .listNamespacedService({ namespace: ns })
        .catch(() => ({ items: [] }));
      for (const svc of services.items) {
        const name = svc.metadata!.name!;
        if (svc.metadata?.finalizers?.length) {
          await core
            .patchNamespacedService(
              { name, namespace: ns, body: { metadata: { finalizers: null } } },
              mergePatch,
            )
            .catch(() => {});
        }
        await core.deleteNamespacedService({ name, namespace: ns }).catch(() => {});
      }
      for (const name of nodes) await core.deleteNode({ name }).catch(() => {});
      await core.deleteNamespace({ name: ns }).catch(() => {});
      await emulator?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
