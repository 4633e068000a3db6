/**
 * cloud-provider-aws and aws-load-balancer-controller read many more
 * `service.beta.kubernetes.io/aws-load-balancer-*` annotations than this provider serves. A
 * Service carrying one of the others would otherwise look accepted while the setting does
 * nothing, so each Service gets a Warning Event naming them, and a log line: once per change of
 * the set, not on every resync.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { CallContext } from '../../contract/provider.js';
import { annotation } from './annotations.js';
import { accessLogEmitInterval } from './attributes.js';

const awsPrefix = 'service.beta.kubernetes.io/aws-load-balancer-';
const served = new Set<string>(Object.values(annotation));
/** Why an annotation does nothing, where there is more to say than that it is not served. */
const why: Readonly<Record<string, string>> = {
  [accessLogEmitInterval]:
    'it applies to Classic Load Balancers only (an NLB delivers its access logs every 5 minutes)',
};

/** The Service's aws-load-balancer-* annotations this provider does not serve, sorted. */
export function unsupportedAnnotations(service: Readonly<V1Service>): string[] {
  return Object.keys(service.metadata?.annotations ?? {})
    .filter((key) => key.startsWith(awsPrefix) && !served.has(key))
    .sort();
}

export const unsupportedAnnotationReason = 'UnsupportedAnnotation';

/** Remembers, per Service UID, the set last warned about. In memory: a restart warns once more. */
export class UnsupportedAnnotationWarnings {
  readonly #warned = new Map<string, string>();

  report(ctx: CallContext, service: Readonly<V1Service>): void {
    const uid = service.metadata?.uid ?? '';
    const keys = unsupportedAnnotations(service);
    const seen = keys.join(',');
    if ((this.#warned.get(uid) ?? '') === seen) return;
    if (keys.length === 0) {
      this.#warned.delete(uid);
      return;
    }
    this.#warned.set(uid, seen);
    ctx.logger.warn({ annotations: keys }, 'annotations the aws provider does not serve');
    ctx.recordEvent(
      'Warning',
      unsupportedAnnotationReason,
      `kube-lbc's aws provider does not serve ${keys.join(', ')}: ${keys.length > 1 ? 'they have' : 'it has'} no effect${keys
        .filter((k) => why[k])
        .map((k) => `; ${k}: ${why[k]}`)
        .join('')}`,
    );
  }

  forget(uid: string | undefined): void {
    if (uid !== undefined) this.#warned.delete(uid);
  }
}
