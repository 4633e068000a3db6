/**
 * The clouds a soak phase runs on, each with its faults and its inventory read back in the form
 * the tally compares: the fake cloud served over HTTP to both replicas, or moto behind the
 * project's fault proxy.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import { createFakeCloud, startFakeCloudServer } from '../../providers/fake/index.js';
import { serviceUidTag } from '../../providers/aws/tags.js';
import { readInventory } from '../integration/aws/inventory.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { seedAccount, type AwsTestEndpoint } from '../support/moto.js';
import type { CloudInventory } from './workload.js';

export interface SoakCloud {
  readonly provider: 'fake' | 'aws';
  /** `--cloud-provider` and `--cloud-config` for the replicas. */
  readonly args: readonly string[];
  /** The Nodes the cluster has; the fake takes any, AWS needs instances behind them. */
  readonly nodes: readonly V1Node[];
  /** Whether the load balancers report their node count (the fake does). */
  readonly countsNodes: boolean;
  inventory(): Promise<CloudInventory>;
  /** Requests the cloud saw (the fake's calls; the requests through the fault proxy). */
  requests(): number;
  /** Turns the injected faults off, after the last wave. */
  calm(): void;
  close(): Promise<void>;
}

export interface FakeCloudFaults {
  readonly latencyMs: number;
  readonly failureRate: number;
  readonly throttleRate: number;
  readonly throttleBurst: number;
  readonly lostAnswerRate: number;
}

export async function fakeSoakCloud(options: {
  dir: string;
  nodes: number;
  prefix: string;
  faults: FakeCloudFaults;
}): Promise<SoakCloud> {
  const cloud = createFakeCloud({ ...options.faults, ingress: 'ip' });
  const server = await startFakeCloudServer(cloud);
  const configPath = join(options.dir, 'fake-cloud.json');
  writeFileSync(configPath, JSON.stringify({ cloudUrl: server.url }));
  return {
    provider: 'fake',
    args: ['--cloud-provider', 'fake', '--cloud-config', configPath],
    nodes: Array.from({ length: options.nodes }, (_, i) => node(`${options.prefix}-n${i}`)),
    countsNodes: true,
    async inventory() {
      return {
        loadBalancers: cloud.loadBalancers().map((lb) => ({
          uid: lb.tags.serviceUID,
          ports: lb.ports.map((p) => `${p.port}/${p.protocol}`).sort(),
          nodes: lb.nodes.length,
          ...(lb.option !== undefined ? { option: lb.option } : {}),
        })),
        parts: [],
      };
    },
    requests: () => cloud.calls.length,
    calm() {
      cloud.failureRate = 0;
      cloud.throttleRate = 0;
      cloud.lostAnswerRate = 0;
    },
    close: () => server.close(),
  };
}

export interface AwsFaults {
  readonly unavailableRate: number;
  readonly lostAnswerRate: number;
}

/** A fresh account on `endpoint` (reset first) behind a fault proxy. */
export async function awsSoakCloud(options: {
  dir: string;
  endpoint: AwsTestEndpoint;
  clusterName: string;
  nodes: number;
  prefix: string;
  faults: AwsFaults;
}): Promise<SoakCloud> {
  await options.endpoint.reset();
  const account = await seedAccount(options.clusterName, options.nodes);
  const proxy = await startFaultProxy({ target: options.endpoint.url });
  proxy.unavailableRate = options.faults.unavailableRate;
  proxy.lostAnswerRate = options.faults.lostAnswerRate;
  const configPath = join(options.dir, 'aws-cloud.json');
  writeFileSync(configPath, JSON.stringify({ endpoint: proxy.url, region: 'us-east-1' }));
  return {
    provider: 'aws',
    args: ['--cloud-provider', 'aws', '--cloud-config', configPath],
    nodes: account.instances.map(({ id, zone }, i) => {
      const n = node(`${options.prefix}-n${i}`);
      n.spec = { providerID: `aws:///${zone}/${id}` };
      return n;
    }),
    countsNodes: false,
    async inventory() {
      const inv = await readInventory();
      return {
        loadBalancers: inv.loadBalancers.map((lb) => ({
          uid: lb.tags[serviceUidTag] ?? '',
          ports: lb.listeners.map((l) => l.split(' ')[0]!).sort(),
        })),
        parts: [
          ...inv.targetGroups
            .filter((tg) => tg.tags[serviceUidTag])
            .map((tg) => ({ kind: 'target group', uid: tg.tags[serviceUidTag]! })),
          ...inv.securityGroups
            .filter((g) => g.tags[serviceUidTag])
            .map((g) => ({ kind: 'security group', uid: g.tags[serviceUidTag]! })),
        ],
      };
    },
    requests: () => proxy.counts.forwarded + proxy.counts.unavailable + proxy.counts.lost,
    calm() {
      proxy.unavailableRate = 0;
      proxy.lostAnswerRate = 0;
    },
    close: () => proxy.close(),
  };
}

function node(name: string): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: {
      conditions: [{ type: 'Ready', status: 'True' }],
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
    },
  };
}
