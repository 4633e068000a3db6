/**
 * Judges recorded AWS calls against IAM policies the way AWS would, for the conditions kube-lbc's
 * policies use. A proxy in front of moto records every query-protocol request (EC2 and ELBv2
 * both are) with the tags its resources carry at that moment, read before it is forwarded; the
 * evaluator then asks, per call and resource, whether some Allow statement matches its action,
 * resource type and every condition. An operator or key it does not know fails the test.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeTagsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';

export interface Statement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

/** One resource a call acts on, as IAM sees it. */
export interface CallContext {
  /** `ec2:RevokeSecurityGroupIngress`, `elasticloadbalancing:AddTags`, ... */
  readonly action: string;
  /** `security-group`, `vpc`, or `*` where the policies only use `*` (ELBv2). */
  readonly resourceType: string;
  readonly resourceTags: Readonly<Record<string, string>>;
  readonly requestTags: Readonly<Record<string, string>>;
  /** aws:TagKeys: the keys the request adds or removes. */
  readonly tagKeys: readonly string[];
  /** The create that tags are given on, for the CreateTags/AddTags a create implies. */
  readonly createAction?: string;
}

const glob = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

function conditionValue(ctx: CallContext, key: string): string | string[] | undefined {
  if (key.startsWith('aws:ResourceTag/')) return ctx.resourceTags[key.slice(16)];
  if (key.startsWith('aws:RequestTag/')) return ctx.requestTags[key.slice(15)];
  if (key === 'aws:TagKeys') return [...ctx.tagKeys];
  if (key === 'ec2:CreateAction' || key === 'elasticloadbalancing:CreateAction') {
    return ctx.createAction;
  }
  throw new Error(`condition key ${key} is not evaluated here`);
}

function holds(operator: string, key: string, wanted: unknown, ctx: CallContext): boolean {
  const values = ([] as unknown[]).concat(wanted).map(String);
  const have = conditionValue(ctx, key);
  switch (operator) {
    case 'StringEquals':
      return typeof have === 'string' && values.includes(have);
    case 'Null':
      return (have === undefined) === (values[0] === 'true');
    case 'ForAllValues:StringLike':
      return ([] as string[]).concat(have ?? []).every((v) => values.some((p) => glob(p).test(v)));
    default:
      throw new Error(`condition operator ${operator} is not evaluated here`);
  }
}

function resourceMatches(resource: string | string[], type: string): boolean {
  return ([] as string[])
    .concat(resource)
    .some((r) => r === '*' || (type !== '*' && glob(r).test(`arn:aws:ec2:r:1:${type}/x`)));
}

/** The statements (by Sid) that allow this call on this resource; none means AWS denies it. */
export function allowedBy(statements: readonly Statement[], ctx: CallContext): string[] {
  return statements
    .filter(
      (s) =>
        s.Effect === 'Allow' &&
        s.Action.includes(ctx.action) &&
        resourceMatches(s.Resource, ctx.resourceType) &&
        Object.entries(s.Condition ?? {}).every(([op, kv]) =>
          Object.entries(kv).every(([k, v]) => holds(op, k, v, ctx)),
        ),
    )
    .map((s) => s.Sid);
}

/** Form parameters `Prefix.N.Key`/`Prefix.N.Value` (or `.member.N.`) as a map. */
function tagsIn(p: URLSearchParams, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of p) {
    const m = k.match(new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)\\.Key$`));
    if (m) out[v] = p.get(`${prefix}.${m[1]}.Value`) ?? '';
  }
  return out;
}

const listIn = (p: URLSearchParams, prefix: string) =>
  [...p]
    .filter(([k]) => new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.\\d+$`).test(k))
    .map(([, v]) => v);

const hopHeaders = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'expect']);

/** The resource's tags, or none when it is gone (the call then fails on moto as on AWS). */
async function tagsOr<T>(read: () => Promise<T[]>): Promise<T[]> {
  try {
    return await read();
  } catch {
    return [];
  }
}

/** Records what reached moto through it, each write with its resources' tags beforehand. */
export class IamRecordingProxy {
  readonly calls: CallContext[] = [];
  #server?: Server;
  #elb = new ElasticLoadBalancingV2Client({});
  #ec2 = new EC2Client({});

  constructor(readonly target: string) {}

  async start(): Promise<string> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.#record(new URLSearchParams(body.toString()))
          .then(() =>
            fetch(new URL(req.url ?? '/', this.target), {
              method: req.method,
              headers: Object.fromEntries(
                Object.entries(req.headers).filter(([k]) => !hopHeaders.has(k)),
              ) as Record<string, string>,
              body: req.method === 'GET' ? undefined : body,
            }),
          )
          .then(async (upstream) => {
            res.writeHead(upstream.status, {
              'content-type': upstream.headers.get('content-type') ?? 'text/xml',
            });
            res.end(Buffer.from(await upstream.arrayBuffer()));
          })
          .catch((err: Error) => {
            res.writeHead(500);
            res.end(String(err));
          });
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.#server?.close(resolve));
    this.#elb.destroy();
    this.#ec2.destroy();
  }

  async #record(p: URLSearchParams): Promise<void> {
    const op = p.get('Action');
    if (!op || /^Describe/.test(op)) return;
    const isEc2 = p.get('Version') !== '2015-12-01';
    const action = `${isEc2 ? 'ec2' : 'elasticloadbalancing'}:${op}`;
    const base = { action, requestTags: {}, tagKeys: [] as string[] };
    if (isEc2) {
      if (op === 'CreateSecurityGroup') {
        const requestTags = tagsIn(p, 'TagSpecification.1.Tag');
        const tagged = { requestTags, tagKeys: Object.keys(requestTags), resourceTags: {} };
        this.calls.push({ ...base, ...tagged, resourceType: 'vpc' });
        this.calls.push({ ...base, ...tagged, resourceType: 'security-group' });
        if (Object.keys(requestTags).length > 0) {
          this.calls.push({
            ...tagged,
            action: 'ec2:CreateTags',
            resourceType: 'security-group',
            createAction: 'CreateSecurityGroup',
          });
        }
        return;
      }
      const ids = [p.get('GroupId'), ...listIn(p, 'ResourceId')].filter((x): x is string => !!x);
      const tagKeys = Object.keys(tagsIn(p, 'Tag'));
      for (const id of ids) {
        const tags = await tagsOr(async () => {
          const out = await this.#ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }));
          return out.SecurityGroups?.[0]?.Tags ?? [];
        });
        const resourceTags = Object.fromEntries(tags.map((t) => [t.Key!, t.Value ?? '']));
        const requestTags = op === 'CreateTags' ? tagsIn(p, 'Tag') : {};
        this.calls.push({
          ...base,
          resourceType: 'security-group',
          resourceTags,
          requestTags,
          tagKeys,
        });
      }
      return;
    }
    const requestTags = tagsIn(p, 'Tags.member');
    if (/^Create/.test(op)) {
      this.calls.push({
        ...base,
        resourceType: '*',
        resourceTags: {},
        requestTags,
        tagKeys: Object.keys(requestTags),
      });
      if (Object.keys(requestTags).length > 0) {
        this.calls.push({
          action: 'elasticloadbalancing:AddTags',
          resourceType: '*',
          resourceTags: {},
          requestTags,
          tagKeys: Object.keys(requestTags),
          createAction: op,
        });
      }
      return;
    }
    const arns = [
      p.get('LoadBalancerArn'),
      p.get('TargetGroupArn'),
      p.get('ListenerArn'),
      ...listIn(p, 'ResourceArns.member'),
    ].filter((x): x is string => !!x);
    const tagKeys = [...Object.keys(requestTags), ...listIn(p, 'TagKeys.member')];
    const described = await tagsOr(async () => {
      const out = await this.#elb.send(new DescribeTagsCommand({ ResourceArns: arns }));
      return out.TagDescriptions ?? [];
    });
    for (const d of described) {
      const resourceTags = Object.fromEntries((d.Tags ?? []).map((t) => [t.Key!, t.Value ?? '']));
      this.calls.push({ ...base, resourceType: '*', resourceTags, requestTags, tagKeys });
    }
  }
}
