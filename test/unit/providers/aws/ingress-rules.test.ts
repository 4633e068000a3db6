/**
 * authorizeIngress and revokeIngress against a security group kept in memory, which answers as
 * EC2 does (a call with one rule already there, or already gone, is refused whole) or as moto does
 * (the other rules are applied before the refusal): either way every rule ends as asked, and a
 * refusal that means "already done" never reaches the caller.
 */
import assert from 'node:assert/strict';
import type { EC2Client, IpPermission } from '@aws-sdk/client-ec2';
import { CloudError } from '../../../../contract/errors.js';
import {
  authorizeIngress,
  revokeIngress,
  singleRules,
} from '../../../../providers/aws/ingress-rules.js';

/** `tcp|80|10.0.0.0/8`: one rule, as the fake group keeps it. */
const keysOf = (permissions: readonly IpPermission[]) =>
  singleRules(permissions).map((p) => {
    const source =
      p.IpRanges?.[0]?.CidrIp ??
      p.Ipv6Ranges?.[0]?.CidrIpv6 ??
      p.UserIdGroupPairs?.[0]?.GroupId ??
      p.PrefixListIds?.[0]?.PrefixListId;
    return `${p.IpProtocol}|${p.FromPort}|${source}`;
  });

const refused = (operation: string, cloudCode: string) =>
  new CloudError(`${operation}: ${cloudCode}: nope`, { operation, cloudCode, retryable: false });

/** One group's ingress, and the calls (as rule lists) it was sent. */
function fakeGroup(initial: string[], behaviour: 'ec2' | 'moto') {
  const rules = new Set(initial);
  const calls: { operation: string; rules: string[] }[] = [];
  const ec2 = {
    async send(command: {
      constructor: { name: string };
      input: { IpPermissions: IpPermission[] };
    }) {
      const operation = command.constructor.name.replace(/Command$/, '');
      const asked = keysOf(command.input.IpPermissions);
      calls.push({ operation, rules: asked });
      const adding = operation === 'AuthorizeSecurityGroupIngress';
      const conflict = asked.some((r) => rules.has(r) === adding);
      if (!conflict || behaviour === 'moto') {
        for (const r of asked) {
          if (adding) rules.add(r);
          else rules.delete(r);
        }
      }
      if (conflict) {
        throw refused(
          operation,
          adding ? 'InvalidPermission.Duplicate' : 'InvalidPermission.NotFound',
        );
      }
      return { Return: true };
    },
  };
  return { ec2: ec2 as unknown as EC2Client, rules, calls };
}

const tcp = (port: number, ...cidrs: string[]): IpPermission => ({
  IpProtocol: 'tcp',
  FromPort: port,
  ToPort: port,
  IpRanges: cidrs.map((CidrIp) => ({ CidrIp })),
});

describe('aws ingress rules', () => {
  for (const behaviour of ['ec2', 'moto'] as const) {
    describe(`against a group that refuses as ${behaviour} does`, () => {
      const cases = [
        {
          desc: 'authorizes new rules in one call',
          change: authorizeIngress,
          initial: [],
          permissions: [tcp(80, '10.0.0.0/8'), tcp(443, '10.0.0.0/8')],
          want: ['tcp|443|10.0.0.0/8', 'tcp|80|10.0.0.0/8'],
          calls: 1,
        },
        {
          desc: 'takes Duplicate for a one-rule authorize as done (a repeat of one that took effect)',
          change: authorizeIngress,
          initial: ['tcp|80|10.0.0.0/8'],
          permissions: [tcp(80, '10.0.0.0/8')],
          want: ['tcp|80|10.0.0.0/8'],
          calls: 1,
        },
        {
          desc: 'adds the rest one at a time when one rule of several was there',
          change: authorizeIngress,
          initial: ['tcp|80|10.0.0.0/8'],
          permissions: [tcp(80, '10.0.0.0/8', '192.168.0.0/16'), tcp(443, '10.0.0.0/8')],
          want: ['tcp|443|10.0.0.0/8', 'tcp|80|10.0.0.0/8', 'tcp|80|192.168.0.0/16'],
          calls: 4,
        },
        {
          desc: 'revokes rules in one call',
          change: revokeIngress,
          initial: ['tcp|80|10.0.0.0/8', 'tcp|443|10.0.0.0/8'],
          permissions: [tcp(80, '10.0.0.0/8'), tcp(443, '10.0.0.0/8')],
          want: [],
          calls: 1,
        },
        {
          desc: 'takes NotFound for a one-rule revoke as done (a repeat of one that took effect)',
          change: revokeIngress,
          initial: [],
          permissions: [tcp(80, '10.0.0.0/8')],
          want: [],
          calls: 1,
        },
        {
          desc: 'removes the rest one at a time when one rule of several was gone',
          change: revokeIngress,
          initial: ['tcp|443|10.0.0.0/8', 'tcp|8080|10.0.0.0/8'],
          permissions: [tcp(80, '10.0.0.0/8'), tcp(443, '10.0.0.0/8')],
          want: ['tcp|8080|10.0.0.0/8'],
          calls: 3,
        },
        {
          desc: 'sends nothing for no rules',
          change: revokeIngress,
          initial: ['tcp|80|10.0.0.0/8'],
          permissions: [],
          want: ['tcp|80|10.0.0.0/8'],
          calls: 0,
        },
      ];
      for (const c of cases) {
        it(c.desc, async () => {
          const group = fakeGroup(c.initial, behaviour);
          await c.change(group.ec2, 'sg-1', c.permissions);
          assert.deepEqual([...group.rules].sort(), c.want);
          assert.equal(group.calls.length, c.calls, JSON.stringify(group.calls));
        });
      }
    });
  }

  it('passes on any other refusal', async () => {
    const ec2 = {
      send: async () => {
        throw refused('AuthorizeSecurityGroupIngress', 'RulesPerSecurityGroupLimitExceeded');
      },
    } as unknown as EC2Client;
    await assert.rejects(
      authorizeIngress(ec2, 'sg-1', [tcp(80, '10.0.0.0/8')]),
      (err: unknown) =>
        err instanceof CloudError && err.cloudCode === 'RulesPerSecurityGroupLimitExceeded',
    );
  });

  it('splits permissions into one rule per source, ports and descriptions kept', () => {
    assert.deepEqual(
      singleRules([
        {
          IpProtocol: 'udp',
          FromPort: 30000,
          ToPort: 32767,
          IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'a' }],
          Ipv6Ranges: [{ CidrIpv6: '::/0' }],
          UserIdGroupPairs: [{ GroupId: 'sg-2', Description: 'kube-lbc: NLB to NodePort' }],
          PrefixListIds: [],
        },
      ]),
      [
        {
          IpProtocol: 'udp',
          FromPort: 30000,
          ToPort: 32767,
          IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'a' }],
        },
        { IpProtocol: 'udp', FromPort: 30000, ToPort: 32767, Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
        {
          IpProtocol: 'udp',
          FromPort: 30000,
          ToPort: 32767,
          UserIdGroupPairs: [{ GroupId: 'sg-2', Description: 'kube-lbc: NLB to NodePort' }],
        },
      ],
    );
  });
});
