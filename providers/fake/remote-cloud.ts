/**
 * The client of cloud-server.ts: a `FakeCloudApi` whose every call is one POST to a fake cloud
 * in another process. Errors come back as the `CloudError`s the cloud threw; a connection that
 * fails or is reset before the answer (a lost answer) is a retryable `CloudError`, as the AWS
 * SDK reports a reset.
 */
import { request } from 'node:http';
import { CloudError } from '../../contract/errors.js';
import type { FakeCloudApi, FakeListenerSpec, FakeLoadBalancer } from './cloud.js';
import type { WireError } from './cloud-server.js';

export interface RemoteFakeCloudOptions {
  /** The server's `url`. */
  readonly url: string;
  /** @default 0 */
  readonly provisioningDelayMs?: number;
  /** A call without an answer after this long fails, retryable. @default 30000 */
  readonly timeoutMs?: number;
}

export class RemoteFakeCloud implements FakeCloudApi {
  readonly provisioningDelayMs: number;
  readonly #url: URL;
  readonly #timeoutMs: number;

  constructor(options: RemoteFakeCloudOptions) {
    this.#url = new URL('/call', options.url);
    this.provisioningDelayMs = options.provisioningDelayMs ?? 0;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  now(): number {
    return Date.now();
  }

  async getLoadBalancer(name: string, service: string): Promise<FakeLoadBalancer | undefined> {
    return (
      (await this.#call<FakeLoadBalancer | null>('getLoadBalancer', [name, service])) ?? undefined
    );
  }

  listLoadBalancers(): Promise<FakeLoadBalancer[]> {
    return this.#call('listLoadBalancers', []);
  }

  createLoadBalancer(
    lb: Omit<FakeLoadBalancer, 'ingress' | 'createdAt'> & { requestedIP?: string },
    service: string,
  ): Promise<FakeLoadBalancer> {
    return this.#call('createLoadBalancer', [lb, service]);
  }

  async updateLoadBalancer(name: string, spec: FakeListenerSpec, service: string): Promise<void> {
    await this.#call('updateLoadBalancer', [name, spec, service]);
  }

  async updateHosts(name: string, nodes: readonly string[], service: string): Promise<void> {
    await this.#call('updateHosts', [name, nodes, service]);
  }

  async setTags(name: string, tags: FakeLoadBalancer['tags'], service: string): Promise<void> {
    await this.#call('setTags', [name, tags, service]);
  }

  async deleteLoadBalancer(name: string, service: string): Promise<void> {
    await this.#call('deleteLoadBalancer', [name, service]);
  }

  #call<T>(method: string, args: unknown[]): Promise<T> {
    const body = JSON.stringify({ method, args });
    return new Promise<T>((resolve, reject) => {
      const lost = (err: Error) =>
        reject(
          new CloudError(`fake cloud at ${this.#url.origin}: ${method}: ${err.message}`, {
            operation: method,
            cloudCode: 'RequestError',
            cause: err,
          }),
        );
      const req = request(
        this.#url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
          timeout: this.#timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', lost);
          res.on('end', () => {
            let parsed: { result?: T; error?: WireError };
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString()) as typeof parsed;
            } catch (err) {
              lost(err as Error);
              return;
            }
            if (res.statusCode === 200) resolve(parsed.result as T);
            else reject(fromWire(method, parsed.error));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer in time')));
      req.on('error', lost);
      req.end(body);
    });
  }
}

function fromWire(method: string, wire: WireError | undefined): CloudError {
  return new CloudError(wire?.message ?? 'fake cloud: a failed call without an error', {
    operation: wire?.operation ?? method,
    cloudCode: wire?.cloudCode ?? 'Unknown',
    retryable: wire?.retryable ?? true,
    throttled: wire?.throttled ?? false,
    notFound: wire?.notFound ?? false,
  });
}
