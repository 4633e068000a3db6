/**
 * `planLoadBalancer` for AWS: the real `ensureNlb`, run with every write answered here instead of
 * sent. So the plan is what ensure would do, call for call, with no second model of the
 * reconciler to drift from it. What a planned create would have returned (an ARN, a group ID) is
 * made up, marked `planned:`, and reads that name it are answered as AWS would answer for a
 * resource with nothing in it yet: no listeners, no targets, no tags, default attributes.
 * Reads of what exists go to AWS as usual, marked read-only, through the gate.
 */
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { RetryAfterError } from '../../contract/errors.js';
import type { CallContext, PlannedChange } from '../../contract/provider.js';
import { whileIntercepted, type CallInterceptor } from './clients.js';
import { ensureNlb, type AwsEnv } from './reconcile.js';

const PLANNED = 'planned:';

/** The answer AWS gives a describe that names only resources with nothing in them yet. */
const emptyAnswers: Record<string, Record<string, unknown[]>> = {
  DescribeLoadBalancers: { LoadBalancers: [] },
  DescribeListeners: { Listeners: [] },
  DescribeTags: { TagDescriptions: [] },
  DescribeTargetGroups: { TargetGroups: [] },
  DescribeTargetHealth: { TargetHealthDescriptions: [] },
  DescribeLoadBalancerAttributes: { Attributes: [] },
  DescribeTargetGroupAttributes: { Attributes: [] },
  DescribeSecurityGroups: { SecurityGroups: [] },
  DescribeSecurityGroupRules: { SecurityGroupRules: [] },
};

export async function planNlb(
  env: AwsEnv,
  ctx: CallContext,
  service: Readonly<V1Service>,
  nodes: readonly Readonly<V1Node>[],
): Promise<PlannedChange[]> {
  const planner = new Planner();
  try {
    await whileIntercepted(planner, () => ensureNlb(env, ctx, service, nodes));
  } catch (err) {
    // A new or provisioning NLB: ensure would look again later; the writes are all listed.
    if (!(err instanceof RetryAfterError)) throw err;
  }
  return planner.changes;
}

type Input = Record<string, unknown>;

class Planner implements CallInterceptor {
  readonly changes: PlannedChange[] = [];
  /** Names of resources by ARN or ID, learnt from answers and planned creates. */
  readonly #names = new Map<string, string>();
  /** The tags of planned resources, as created and then changed by planned AddTags/RemoveTags. */
  readonly #tags = new Map<string, Map<string, string>>();
  #serial = 0;

  intercept(kind: 'elb' | 'ec2', operation: string, input: Input) {
    if (/^Describe/.test(operation)) return this.#read(operation, input);
    this.changes.push({ operation, description: this.#describe(operation, input) });
    return { output: { ...this.#made(kind, operation, input), $metadata: {} } };
  }

  observe(_kind: 'elb' | 'ec2', _operation: string, output: unknown): void {
    const o = (output ?? {}) as {
      LoadBalancers?: { LoadBalancerArn?: string; LoadBalancerName?: string }[];
      TargetGroups?: { TargetGroupArn?: string; TargetGroupName?: string }[];
      Listeners?: { ListenerArn?: string; Protocol?: string; Port?: number }[];
      SecurityGroups?: { GroupId?: string; GroupName?: string }[];
    };
    for (const lb of o.LoadBalancers ?? []) this.#learn(lb.LoadBalancerArn, lb.LoadBalancerName);
    for (const tg of o.TargetGroups ?? []) this.#learn(tg.TargetGroupArn, tg.TargetGroupName);
    for (const l of o.Listeners ?? []) this.#learn(l.ListenerArn, `${l.Protocol} ${l.Port}`);
    for (const g of o.SecurityGroups ?? []) this.#learn(g.GroupId, g.GroupName);
  }

  /** A read naming planned resources: drop them from its lists, or answer it empty. */
  #read(operation: string, input: Input) {
    if (operation === 'DescribeTags') return this.#readTags(input);
    let planned = false;
    const narrowed: Input = {};
    for (const [key, value] of Object.entries(input)) {
      if (typeof value === 'string' && value.startsWith(PLANNED)) return this.#empty(operation);
      if (Array.isArray(value) && value.some(isPlanned)) {
        planned = true;
        const kept = value.filter((v) => !isPlanned(v));
        if (kept.length === 0) return this.#empty(operation);
        narrowed[key] = kept;
      } else if (key === 'Filters' && JSON.stringify(value).includes(PLANNED)) {
        return this.#empty(operation);
      } else {
        narrowed[key] = value;
      }
    }
    return planned ? { input: narrowed } : undefined;
  }

  /** Tags of planned resources from memory, of the others from AWS, in one answer. */
  #readTags(input: Input) {
    const arns = (input.ResourceArns as string[] | undefined) ?? [];
    const planned = arns.filter(isPlanned).map((arn) => ({
      ResourceArn: arn,
      Tags: [...(this.#tags.get(arn) ?? [])].map(([Key, Value]) => ({ Key, Value })),
    }));
    const real = arns.filter((arn) => !isPlanned(arn));
    if (planned.length === 0) return undefined;
    if (real.length === 0) return { output: { TagDescriptions: planned, $metadata: {} } };
    return {
      input: { ...input, ResourceArns: real },
      then: (output: unknown) => {
        const o = output as { TagDescriptions?: unknown[] };
        return { ...o, TagDescriptions: [...(o.TagDescriptions ?? []), ...planned] };
      },
    };
  }

  #remember(arn: string, tags: unknown): void {
    const map = this.#tags.get(arn) ?? new Map<string, string>();
    for (const t of (tags as { Key?: string; Value?: string }[] | undefined) ?? []) {
      if (t.Key !== undefined) map.set(t.Key, t.Value ?? '');
    }
    this.#tags.set(arn, map);
  }

  #empty(operation: string) {
    return { output: { ...(emptyAnswers[operation] ?? {}), $metadata: {} } };
  }

  /** What a write would have answered, as far as ensure reads it. */
  #made(kind: 'elb' | 'ec2', operation: string, input: Input): Input {
    const id = (what: string) => `${PLANNED}${what}/${++this.#serial}`;
    switch (operation) {
      case 'CreateLoadBalancer': {
        const arn = id(`loadbalancer/${String(input.Name)}`);
        this.#learn(arn, String(input.Name));
        this.#remember(arn, input.Tags);
        return {
          LoadBalancers: [
            {
              LoadBalancerArn: arn,
              LoadBalancerName: input.Name,
              Scheme: input.Scheme,
              IpAddressType: input.IpAddressType,
              SecurityGroups: input.SecurityGroups,
              VpcId: `${PLANNED}vpc`,
              State: { Code: 'provisioning' },
            },
          ],
        };
      }
      case 'CreateTargetGroup': {
        const arn = id(`targetgroup/${String(input.Name)}`);
        this.#learn(arn, String(input.Name));
        this.#remember(arn, input.Tags);
        return { TargetGroups: [{ ...input, TargetGroupArn: arn, TargetGroupName: input.Name }] };
      }
      case 'CreateListener': {
        const arn = id('listener');
        this.#learn(arn, `${String(input.Protocol)} ${String(input.Port)}`);
        return { Listeners: [{ ...input, ListenerArn: arn }] };
      }
      case 'CreateSecurityGroup': {
        const groupId = id(`security-group/${String(input.GroupName)}`);
        this.#learn(groupId, String(input.GroupName));
        return { GroupId: groupId };
      }
      case 'AddTags':
        for (const arn of (input.ResourceArns as string[]).filter(isPlanned)) {
          this.#remember(arn, input.Tags);
        }
        return {};
      case 'RemoveTags':
        for (const arn of (input.ResourceArns as string[]).filter(isPlanned)) {
          for (const key of input.TagKeys as string[]) this.#tags.get(arn)?.delete(key);
        }
        return {};
      default:
        return kind === 'ec2' ? { Return: true } : {};
    }
  }

  #describe(operation: string, input: Input): string {
    const name = (key: string) => this.#nameOf(input[key]);
    const count = (key: string) => (Array.isArray(input[key]) ? input[key].length : 0);
    const rules = () =>
      ((input.IpPermissions as { IpProtocol?: string; FromPort?: number }[]) ?? [])
        .map((p) => `${String(p.IpProtocol).toUpperCase()} ${p.FromPort}`)
        .join(', ');
    switch (operation) {
      case 'CreateLoadBalancer':
        return `create NLB ${String(input.Name)} (${String(input.Scheme)})`;
      case 'DeleteLoadBalancer':
        return `delete NLB ${name('LoadBalancerArn')}`;
      case 'CreateSecurityGroup':
        return `create security group ${String(input.GroupName)}`;
      case 'DeleteSecurityGroup':
        return `delete security group ${name('GroupId')}`;
      case 'AuthorizeSecurityGroupIngress':
        return `allow ${rules()} into security group ${name('GroupId')}`;
      case 'RevokeSecurityGroupIngress':
        return `revoke ${rules()} from security group ${name('GroupId')}`;
      case 'CreateTargetGroup':
        return `create target group ${String(input.Name)} (${String(input.Protocol)} ${String(input.Port)})`;
      case 'DeleteTargetGroup':
        return `delete target group ${name('TargetGroupArn')}`;
      case 'ModifyTargetGroup':
        return `change the health check of target group ${name('TargetGroupArn')}`;
      case 'ModifyTargetGroupAttributes':
        return `change attributes of target group ${name('TargetGroupArn')}`;
      case 'RegisterTargets':
        return `register ${count('Targets')} targets in ${name('TargetGroupArn')}`;
      case 'DeregisterTargets':
        return `deregister ${count('Targets')} targets from ${name('TargetGroupArn')}`;
      case 'CreateListener':
        return `add listener ${String(input.Protocol)} ${String(input.Port)}`;
      case 'ModifyListener':
        return `change listener ${name('ListenerArn')}`;
      case 'DeleteListener':
        return `delete listener ${name('ListenerArn')}`;
      case 'ModifyLoadBalancerAttributes':
        return `change attributes of NLB ${name('LoadBalancerArn')}`;
      case 'SetIpAddressType':
        return `set the IP address type of NLB ${name('LoadBalancerArn')} to ${String(input.IpAddressType)}`;
      case 'SetSecurityGroups':
        return `set the security groups of NLB ${name('LoadBalancerArn')}`;
      case 'SetSubnets':
        return `move NLB ${name('LoadBalancerArn')} to subnets ${(input.Subnets as string[]).join(', ')}`;
      case 'AddTags':
        return `tag ${(input.ResourceArns as string[]).map((a) => this.#nameOf(a)).join(', ')}`;
      case 'RemoveTags':
        return `untag ${(input.TagKeys as string[]).join(', ')} from ${(input.ResourceArns as string[]).map((a) => this.#nameOf(a)).join(', ')}`;
      default:
        return operation;
    }
  }

  #learn(id: string | undefined, name: string | undefined): void {
    if (id && name) this.#names.set(id, name);
  }

  /** A name for an ARN or ID: learnt, or the name part of an ELBv2 ARN, or the ID itself. */
  #nameOf(id: unknown): string {
    const text = String(id);
    return this.#names.get(text) ?? /\/(?:net|app)?\/?([^/]+)\/[0-9a-f]+$/.exec(text)?.[1] ?? text;
  }
}

function isPlanned(v: unknown): boolean {
  return typeof v === 'string' && v.startsWith(PLANNED);
}
