/**
 * The `kube-lbc-released` label on an address or forwarding rule, the two kinds whose
 * description Compute Engine fixes at creation: put on by a release, taken off by the ensure
 * that takes the load balancer back. `setLabels` replaces every label and carries the
 * `labelFingerprint` read, so a label someone else set meanwhile is a 412, never overwritten.
 */
import type { GcpEnv } from './env.js';
import { isReleased, releasedLabel } from './ownership.js';

export interface Labelled {
  readonly name?: string | null;
  readonly labels?: Readonly<Record<string, string>> | null;
  readonly labelFingerprint?: string | null;
}

/** Sets or clears the label on `item` as read; no call when it already says so. */
export async function markReleased(
  env: GcpEnv,
  collection: 'addresses' | 'forwardingRules',
  item: Labelled,
  released: boolean,
): Promise<void> {
  if (isReleased(item.labels) === released) return;
  const { calls, project, region } = env;
  const labels = { ...item.labels };
  if (released) labels[releasedLabel] = 'true';
  else delete labels[releasedLabel];
  const request = {
    project,
    region,
    resource: item.name!,
    regionSetLabelsRequestResource: { labels, labelFingerprint: item.labelFingerprint ?? null },
  };
  await calls.write(`${collection}.setLabels`, { region }, (requestId) =>
    collection === 'addresses'
      ? calls.clients.addresses.setLabels({ ...request, requestId })
      : calls.clients.forwardingRules.setLabels({ ...request, requestId }),
  );
}
