/**
 * `kube-lbc plan`: reads the cluster once and asks the provider, per Service, what a sync would
 * change now (`planLoadBalancer`), behind a gate that refuses every call not marked read-only;
 * then the load balancers the garbage collector would delete. A Service carrying the release
 * annotation is planned as the sync treats it: never an ensure. Exit 0: nothing would change;
 * 2: changes pending; 1: an error (as `terraform plan -detailed-exitcode`).
 */
import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { InvalidServiceError, errorMessage, findCause } from '../contract/errors.js';
import { noopLogger } from '../contract/logger.js';
import { isEligibleNode } from '../contract/nodes.js';
import type { CallContext, LoadBalancerProvider, PlannedChange } from '../contract/provider.js';
import {
  hasCleanupFinalizer,
  RELEASE_ANNOTATION,
  releaseRequest,
  wantsLoadBalancer,
  type ClassFilter,
} from '../controllers/service/predicates.js';
import { createProvider } from '../providers/registry.js';
import { CloudCallGate } from '../runtime/cloud-calls.js';
import { ReadOnlyCloudCalls } from '../runtime/read-only-calls.js';
import { loadCloudConfig } from './inputs.js';
import { loadKubeConfig } from './kubeconfig-client.js';

export interface PlanOptions {
  readonly kubeconfig?: string;
  readonly cloudProvider: string;
  readonly cloudConfig?: string;
  readonly clusterName: string;
  readonly classes: ClassFilter;
  readonly output: 'text' | 'json';
}

export interface ServicePlan {
  readonly service: string;
  readonly changes: readonly PlannedChange[];
  /** Why nothing was planned: the Service is invalid, or the provider cannot plan. */
  readonly note?: string;
}

export interface PlanReport {
  readonly services: readonly ServicePlan[];
  /** Load balancers the garbage collector would delete: their Service is gone. */
  readonly orphans: readonly { readonly service: string; readonly uid: string }[];
  /** The cloud calls the plan made (all reads) and refused (none, unless a provider is broken). */
  readonly calls: { readonly reads: number; readonly refused: readonly string[] };
}

/** Runs the plan, prints it, and returns the exit code. */
export async function runPlan(
  options: PlanOptions,
  print = (s: string) => process.stdout.write(s),
): Promise<number> {
  const report = await plan(options);
  print(options.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatPlan(report));
  if (report.calls.refused.length > 0) return 1;
  const pending = report.orphans.length > 0 || report.services.some((s) => s.changes.length > 0);
  return pending ? 2 : 0;
}

export async function plan(options: PlanOptions): Promise<PlanReport> {
  const kubeConfig = loadKubeConfig(options.kubeconfig);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const [services, nodes] = await Promise.all([
    core.listServiceForAllNamespaces().then((l) => l.items),
    core.listNode().then((l) => l.items),
  ]);
  const gate = new CloudCallGate();
  const readOnly = new ReadOnlyCloudCalls(gate);
  const provider = await createProvider(options.cloudProvider, {
    config: loadCloudConfig(options.cloudConfig),
    clusterName: options.clusterName,
    logger: noopLogger,
    cloudCalls: readOnly,
    cluster: { services: () => services, nodes: () => nodes },
  });
  gate.configure(provider.callBudgets);
  const ctx: CallContext = {
    signal: new AbortController().signal,
    logger: noopLogger,
    recordEvent: () => {},
  };
  try {
    const eligible = nodes.filter((n) => isEligibleNode(n, provider.capabilities.needsProviderID));
    const planned: ServicePlan[] = [];
    for (const svc of services.filter(
      (s) => wantsLoadBalancer(s, options.classes) && !s.metadata?.deletionTimestamp,
    )) {
      const name = key(svc);
      const release = releaseRequest(svc);
      if (release !== 'managed') {
        planned.push(releasePlan(provider, svc, release));
        continue;
      }
      if (!provider.planLoadBalancer) {
        planned.push({ service: name, changes: [], note: `provider ${provider.name} cannot plan` });
        continue;
      }
      try {
        planned.push({
          service: name,
          changes: await provider.planLoadBalancer(ctx, options.clusterName, svc, eligible),
        });
      } catch (err) {
        const invalid = findCause(err, InvalidServiceError);
        if (!invalid) throw new Error(`plan ${name}`, { cause: err });
        planned.push({
          service: name,
          changes: [],
          note: `invalid, left as it is: ${errorMessage(invalid)}`,
        });
      }
    }
    const wanted = new Set(
      services.filter((s) => wantsLoadBalancer(s, options.classes)).map((s) => s.metadata?.uid),
    );
    const owned = (await provider.listLoadBalancers?.(ctx, options.clusterName)) ?? [];
    const orphans = owned
      .filter((lb) => !wanted.has(lb.serviceUID))
      .map((lb) => ({ service: `${lb.namespace}/${lb.name}`, uid: lb.serviceUID }));
    return {
      services: planned,
      orphans,
      calls: { reads: readOnly.reads.length, refused: [...readOnly.refused] },
    };
  } finally {
    await provider.close?.();
  }
}

export function formatPlan(report: PlanReport): string {
  const lines: string[] = [];
  for (const s of report.services) {
    if (s.note) lines.push(`${s.service}: ${s.note}`);
    else if (s.changes.length === 0) lines.push(`${s.service}: no changes`);
    else {
      lines.push(`${s.service}:`);
      for (const c of s.changes) lines.push(`  ~ ${c.description}`);
    }
  }
  for (const o of report.orphans)
    lines.push(`orphan (Service gone): delete the load balancer of ${o.service} (uid ${o.uid})`);
  const pending = report.services.reduce((n, s) => n + s.changes.length, 0);
  lines.push(
    `${pending} changes in ${report.services.filter((s) => s.changes.length > 0).length} Services, ${report.orphans.length} orphans; ${report.calls.reads} cloud reads, no writes`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * A Service with the release annotation, as the sync's `#release` treats it: no ensure, no
 * delete; a release still to do (our finalizer is on) is the one provider call it makes, a
 * release done (the finalizer gone) is nothing, and a bad value changes nothing.
 */
function releasePlan(
  provider: LoadBalancerProvider,
  svc: Readonly<V1Service>,
  request: 'released' | 'invalid',
): ServicePlan {
  const service = key(svc);
  if (request === 'invalid') {
    const value = JSON.stringify(svc.metadata?.annotations?.[RELEASE_ANNOTATION]);
    return { service, changes: [], note: `invalid ${RELEASE_ANNOTATION} ${value}, left as it is` };
  }
  if (!hasCleanupFinalizer(svc))
    return { service, changes: [], note: 'released, kube-lbc leaves it alone' };
  if (!provider.releaseLoadBalancer) {
    return {
      service,
      changes: [],
      note: `to be released, but provider ${provider.name} cannot release: nothing changes`,
    };
  }
  return {
    service,
    changes: [
      {
        operation: 'releaseLoadBalancer',
        description: "release the load balancer: kube-lbc's ownership marks go, nothing is deleted",
      },
    ],
  };
}

const key = (s: Readonly<V1Service>) => `${s.metadata?.namespace}/${s.metadata?.name}`;
