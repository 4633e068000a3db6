/**
 * The Compute Engine emulator over HTTP on 127.0.0.1: what `@google-cloud/compute` reaches with
 * `apiEndpoint`, `port` and `protocol: 'http'`. Seeds the `default` network and subnetwork;
 * tests seed instances, set quotas, inject faults and read the inventory.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ComputeApi } from './api.js';
import { ComputeError } from './errors.js';
import { Faults } from './faults.js';
import { ComputeState, type Resource, type StateOptions } from './state.js';

export interface ComputeEmulatorOptions extends Partial<StateOptions> {
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Per-collection limits (`forwardingRules: 15`): past them, inserts fail with QUOTA_EXCEEDED. */
  readonly quotas?: Readonly<Record<string, number>>;
}

export interface SeededInstance {
  readonly name: string;
  readonly zone: string;
  /** Network tags (the targets of firewall rules). */
  readonly tags?: readonly string[];
  readonly networkIP?: string;
}

export class ComputeEmulator {
  readonly state: ComputeState;
  readonly faults = new Faults();
  readonly api: ComputeApi;
  readonly #server: Server;
  readonly #answered = new EventEmitter();
  #port = 0;

  private constructor(options: ComputeEmulatorOptions) {
    this.state = new ComputeState({
      project: options.project ?? 'kube-lbc-test',
      region: options.region ?? 'us-central1',
      ...(options.zones ? { zones: options.zones } : {}),
    });
    for (const [collection, limit] of Object.entries(options.quotas ?? {}))
      this.state.quotas.set(collection, limit);
    this.api = new ComputeApi(this.state, this.faults);
    this.#seedNetwork();
    this.#server = createServer((req, res) => {
      void readBody(req).then(
        async (body) => {
          const url = new URL(req.url ?? '/', 'http://emulator');
          const answer = this.api.handle({
            method: req.method ?? 'GET',
            path: url.pathname,
            query: url.searchParams,
            body,
          });
          this.#answered.emit('request');
          if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
          if (answer.lost) return void req.socket.destroy();
          res.writeHead(answer.status, { 'content-type': 'application/json; charset=UTF-8' });
          res.end(JSON.stringify(answer.body));
        },
        (err: ComputeError) => {
          res.writeHead(err.status, { 'content-type': 'application/json; charset=UTF-8' });
          res.end(JSON.stringify(err.body()));
        },
      );
    });
  }

  static async start(options: ComputeEmulatorOptions = {}): Promise<ComputeEmulator> {
    const emulator = new ComputeEmulator(options);
    await new Promise<void>((resolve, reject) => {
      emulator.#server.once('error', reject);
      emulator.#server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    emulator.#port = (emulator.#server.address() as AddressInfo).port;
    return emulator;
  }

  get port(): number {
    return this.#port;
  }

  /** The `--cloud-config` `apiEndpoint` that reaches this emulator. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get project(): string {
    return this.state.project;
  }

  get region(): string {
    return this.state.region;
  }

  get zones(): readonly string[] {
    return this.state.zones;
  }

  seedInstance(instance: SeededInstance): Resource {
    const scope = { kind: 'zones', name: instance.zone } as const;
    const item: Resource = {
      kind: 'compute#instance',
      id: this.state.nextId(),
      name: instance.name,
      selfLink: this.state.link(scope, 'instances', instance.name),
      zone: this.state.scopeLink(scope),
      status: 'RUNNING',
      tags: { items: [...(instance.tags ?? [])], fingerprint: this.state.fingerprint() },
      networkInterfaces: [
        {
          network: this.state.link({ kind: 'global', name: '' }, 'networks', 'default'),
          subnetwork: this.state.link(
            { kind: 'regions', name: this.state.region },
            'subnetworks',
            'default',
          ),
          networkIP: instance.networkIP ?? '10.128.0.2',
        },
      ],
    };
    this.state.put(scope, 'instances', item);
    return item;
  }

  /**
   * Resolves once `check` holds, checking now and after every request the emulator answers (the
   * only way its state changes), so a test waits on the cloud without polling.
   */
  until<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const test = () => {
        const value = check();
        if (!value) return;
        done();
        resolve(value);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#answered.off('request', test);
      };
      this.#answered.on('request', test);
      test();
    });
  }

  /** Removes everything created through the API and every fault; seeded instances stay. */
  reset(): void {
    this.faults.clear();
    for (const { scope, collection, item } of [...this.state.all()]) {
      if (!['instances', 'networks', 'subnetworks'].includes(collection))
        this.state.remove(scope, collection, item.name);
    }
  }

  /** Removes an instance as if it were deleted out of band (its group memberships stay). */
  dropInstance(zone: string, name: string): void {
    this.state.remove({ kind: 'zones', name: zone }, 'instances', name);
  }

  /**
   * Everything created through the API (not the seeded network and instances), as stable
   * attributes: no IDs, timestamps or fingerprints. Group members are instance names.
   */
  inventory(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const { scope, collection, item } of this.state.all()) {
      if (collection === 'instances' || collection === 'networks' || collection === 'subnetworks')
        continue;
      const {
        id: _id,
        creationTimestamp: _t,
        fingerprint: _f,
        labelFingerprint: _lf,
        selfLink: _s,
        ...rest
      } = item;
      const members = Array.isArray(rest.members)
        ? (rest.members as string[]).map((m) => m.split('/').pop()).sort()
        : undefined;
      out.push({
        collection,
        scope: this.state.scopePath(scope),
        ...rest,
        ...(members ? { members } : {}),
      });
    }
    return out;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #seedNetwork(): void {
    const global = { kind: 'global', name: '' } as const;
    const region = { kind: 'regions', name: this.state.region } as const;
    this.state.put(global, 'networks', {
      kind: 'compute#network',
      id: this.state.nextId(),
      name: 'default',
      selfLink: this.state.link(global, 'networks', 'default'),
    });
    this.state.put(region, 'subnetworks', {
      kind: 'compute#subnetwork',
      id: this.state.nextId(),
      name: 'default',
      ipCidrRange: '10.128.0.0/20',
      network: this.state.link(global, 'networks', 'default'),
      region: this.state.scopeLink(region),
      selfLink: this.state.link(region, 'subnetworks', 'default'),
    });
  }
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return {};
  try {
    const body = JSON.parse(text) as unknown;
    // Methods without a body (operations.wait) get the JSON string "" from the REST transport.
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return {};
    return body as Record<string, unknown>;
  } catch {
    throw new ComputeError(
      400,
      'parseError',
      'This API does not support parsing form-encoded input.',
    );
  }
}
