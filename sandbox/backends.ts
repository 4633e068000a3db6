/**
 * Demo backends: what kube-proxy and a pod would answer on each node. For every Service's TCP
 * NodePorts, each node's address answers HTTP with `hello from <node>`, so a user's own
 * LoadBalancer Services carry requests in the sandbox as the sample does. UDP ports get none.
 */
import { createServer, type Server } from 'node:http';
import type { V1Service } from '@kubernetes/client-node';
import type { Logger } from '../contract/logger.js';
import type { DemoNode } from './demos/index.js';

export class DemoBackends {
  readonly #nodes: readonly DemoNode[];
  readonly #logger: Logger;
  /** `ip:port` -> server, and Service key -> the ports it wants. */
  readonly #servers = new Map<string, Promise<Server | undefined>>();
  readonly #wanted = new Map<string, Set<number>>();

  constructor(nodes: readonly DemoNode[], logger: Logger) {
    this.#nodes = nodes;
    this.#logger = logger;
  }

  /** Makes the backends match `svc` (or its absence, when `deleted`). */
  sync(svc: V1Service, deleted = false): void {
    const key = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
    const ports = new Set(
      deleted
        ? []
        : (svc.spec?.ports ?? [])
            .filter((p) => (p.protocol ?? 'TCP') === 'TCP' && p.nodePort)
            .map((p) => p.nodePort!),
    );
    this.#wanted.set(key, ports);
    if (!ports.size) this.#wanted.delete(key);
    const all = new Set([...this.#wanted.values()].flatMap((s) => [...s]));
    for (const port of all) for (const node of this.#nodes) this.#open(node, port);
    for (const [addr, server] of this.#servers) {
      if (all.has(Number(addr.split(':')[1]))) continue;
      this.#servers.delete(addr);
      void server.then((s) => s?.close());
    }
  }

  /** Resolves when every backend asked for so far listens (or failed to). */
  async ready(): Promise<void> {
    await Promise.all(this.#servers.values());
  }

  async close(): Promise<void> {
    const servers = await Promise.all(this.#servers.values());
    this.#servers.clear();
    await Promise.all(servers.map((s) => s && new Promise((r) => s.close(r))));
  }

  #open(node: DemoNode, port: number): void {
    const addr = `${node.ip}:${port}`;
    if (this.#servers.has(addr)) return;
    const server = createServer((_req, res) => res.end(`hello from ${node.name}`));
    this.#servers.set(
      addr,
      new Promise((resolve) => {
        server.once('error', (err) => {
          this.#logger.warn({ address: addr, err: err.message }, 'demo backend could not listen');
          resolve(undefined);
        });
        server.listen(port, node.ip, () => resolve(server));
      }),
    );
  }
}
