/**
 * `kube-lbc release <namespace>/<name>`: hands a Service's load balancer back without deleting it.
 * It sets the `kube-lbc.io/release: "true"` annotation, then waits until the controller has called
 * the provider and removed the cleanup finalizer (or refused: `ReleaseUnsupported`). Exit 0:
 * released; 1: an error, a refusal, or the timeout.
 */
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type V1Service,
} from '@kubernetes/client-node';
import { RELEASE_ANNOTATION, hasCleanupFinalizer } from '../controllers/service/predicates.js';
import { loadKubeConfig } from './inputs.js';

export interface ReleaseOptions {
  readonly kubeconfig?: string;
  /** `<namespace>/<name>` */
  readonly service: string;
  readonly timeoutMs: number;
  /** How often the Service is read again while waiting. @default 500 */
  readonly pollMs?: number;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Runs the release, prints what happened, and returns the exit code. */
export async function runRelease(
  options: ReleaseOptions,
  print = (s: string) => process.stdout.write(s),
): Promise<number> {
  const [namespace, name, ...rest] = options.service.split('/');
  if (!namespace || !name || rest.length)
    throw new Error(`expected <namespace>/<name>, got ${JSON.stringify(options.service)}`);
  const core = loadKubeConfig(options.kubeconfig).makeApiClient(CoreV1Api);
  const body = { metadata: { annotations: { [RELEASE_ANNOTATION]: 'true' } } };
  let svc: V1Service = await core.patchNamespacedService({ name, namespace, body }, mergePatch);
  const uid = svc.metadata?.uid;
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (!hasCleanupFinalizer(svc)) {
      const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname);
      print(
        `${namespace}/${name}: released; kube-lbc no longer manages its load balancer` +
          (ingress.length ? ` (still serving at ${ingress.join(', ')})` : '') +
          `\nremove the ${RELEASE_ANNOTATION} annotation to have kube-lbc manage it again\n`,
      );
      return 0;
    }
    const refusal = await findRefusal(core, namespace, uid);
    if (refusal) {
      print(`${namespace}/${name}: not released: ${refusal.message ?? refusal.reason}\n`);
      return 1;
    }
    if (Date.now() >= deadline) {
      print(
        `${namespace}/${name}: not released within ${options.timeoutMs / 1000}s: the finalizer is still on (is kube-lbc running and does it own this Service?)\n`,
      );
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    svc = await core.readNamespacedService({ name, namespace });
  }
}

/** A Warning the controller records when it cannot release: the wait would never end. */
async function findRefusal(
  core: CoreV1Api,
  namespace: string,
  uid: string | undefined,
): Promise<CoreV1Event | undefined> {
  const events = await core.listNamespacedEvent({ namespace });
  return events.items.find(
    (e) =>
      e.involvedObject?.uid === uid &&
      e.type === 'Warning' &&
      (e.reason === 'ReleaseUnsupported' ||
        (e.message ?? '').includes(`annotation ${RELEASE_ANNOTATION}`)),
  );
}
