/**
 * `kube-lbc release <namespace>/<name>`: hands a Service's load balancer back without deleting it.
 * It reads the Service first: one already released is left as it is, and one kube-lbc does not
 * manage (no cleanup finalizer) is refused, so a typo or another controller's Service is never
 * annotated. Otherwise it sets the `kube-lbc.io/release: "true"` annotation, then waits until the
 * controller has called the provider and removed the cleanup finalizer (or refused:
 * `ReleaseUnsupported`). Exit 0: released; 1: an error, a refusal, the Service gone, or the timeout.
 */
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type V1Service,
} from '@kubernetes/client-node';
import {
  LOAD_BALANCER_CLEANUP_FINALIZER as FINALIZER,
  RELEASE_ANNOTATION,
  hasCleanupFinalizer,
} from '../controllers/service/predicates.js';
import { isNotFound } from '../runtime/api-errors.js';
import { loadKubeConfig } from './kubeconfig-client.js';

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
  const id = `${namespace}/${name}`;
  const core = loadKubeConfig(options.kubeconfig).makeApiClient(CoreV1Api);
  const read = () => core.readNamespacedService({ name, namespace }).catch(undefinedIfNotFound);

  let svc = await read();
  if (!svc) {
    print(`${id}: not released: no such Service\n`);
    return 1;
  }
  const asked = svc.metadata?.annotations?.[RELEASE_ANNOTATION] === 'true';
  if (!hasCleanupFinalizer(svc)) {
    if (asked) {
      print(`${id}: already released; nothing changed\n${releasedNote(svc)}`);
      return 0;
    }
    print(
      `${id}: not released: it has no ${FINALIZER} finalizer, so kube-lbc does not manage its load balancer (not a LoadBalancer kube-lbc serves, not provisioned yet, or another controller's); nothing set\n`,
    );
    return 1;
  }
  const uid = svc.metadata?.uid;
  if (!asked) {
    const body = { metadata: { annotations: { [RELEASE_ANNOTATION]: 'true' } } };
    svc = await core.patchNamespacedService({ name, namespace, body }, mergePatch);
  }
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (!svc || svc.metadata?.uid !== uid) {
      // Events outlive their Service: they tell whether the release came before the deletion.
      const released = await findEvent(core, namespace, uid, (e) => e.reason === 'Released');
      print(
        `${id}: not released: the Service was deleted while waiting` +
          (released
            ? '; its load balancer had been released first and was kept\n'
            : '; its load balancer may have been deleted with it\n'),
      );
      return 1;
    }
    if (!hasCleanupFinalizer(svc)) {
      print(`${id}: released\n${releasedNote(svc)}`);
      return 0;
    }
    const refusal = await findEvent(core, namespace, uid, isRefusal);
    if (refusal) {
      print(`${id}: not released: ${refusal.message ?? refusal.reason}\n`);
      return 1;
    }
    if (Date.now() >= deadline) {
      print(
        `${id}: not released within ${options.timeoutMs / 1000}s: the ${FINALIZER} finalizer is still on (is kube-lbc running, and does it serve this Service's class?); the ${RELEASE_ANNOTATION} annotation stays set\n`,
      );
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    svc = await read();
  }
}

/** What a released Service keeps, and how to undo the release. */
function releasedNote(svc: V1Service): string {
  const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname);
  return (
    'kube-lbc no longer manages its load balancer' +
    (ingress.length ? ` (still serving at ${ingress.join(', ')})` : '') +
    `\nremove the ${RELEASE_ANNOTATION} annotation to have kube-lbc manage it again\n`
  );
}

const undefinedIfNotFound = (err: unknown): undefined => {
  if (isNotFound(err)) return undefined;
  throw err;
};

/** A Warning the controller records when it cannot release: the wait would never end. */
const isRefusal = (e: CoreV1Event) =>
  e.type === 'Warning' &&
  (e.reason === 'ReleaseUnsupported' ||
    (e.message ?? '').includes(`annotation ${RELEASE_ANNOTATION}`));

async function findEvent(
  core: CoreV1Api,
  namespace: string,
  uid: string | undefined,
  matches: (e: CoreV1Event) => boolean,
): Promise<CoreV1Event | undefined> {
  const events = await core.listNamespacedEvent({ namespace });
  return events.items.find((e) => e.involvedObject?.uid === uid && matches(e));
}
