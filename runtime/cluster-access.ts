/**
 * How to reach one API server: its URL, and per request the TLS credentials and headers to send.
 *
 * `kube-lbc run` reads its kubeconfig here rather than with client-node's `KubeConfig`, because
 * that class's module loads client-node's whole generated API (every model and client of every
 * API group): measured on Node 20 with `--optimize-for-size`, 57 MiB of resident memory and 27 MiB
 * of live heap before a single object is cached, more than the controller's own heap at 200
 * Services. The in-cluster service account and kubeconfigs with static credentials (a token, a
 * token file, client certificates, a CA) are read here; anything needing a program to produce
 * credentials (`exec`, `auth-provider`) is handed to client-node, loaded only then.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { TlsIdentity } from './tls-connect.js';

export interface Credentials {
  /** The connection's TLS options; the same object while they are unchanged (see TlsIdentity). */
  readonly tls: TlsIdentity;
  /** Headers every request carries: `Authorization`, mostly. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface ClusterAccess {
  /** `https://host:port`, with no trailing slash. */
  readonly server: string;
  /** Asked before every request: tokens are re-read and rotated certificates picked up. */
  credentials(): Credentials | Promise<Credentials>;
}

/** What a user entry of a kubeconfig may hold that this module can send by itself. */
export interface StaticUser {
  readonly token?: string;
  /** Re-read every minute, as client-go re-reads a projected service account token. */
  readonly tokenFile?: string;
  readonly username?: string;
  readonly password?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface StaticCluster {
  readonly server: string;
  readonly ca?: Buffer;
  readonly insecureSkipTlsVerify?: boolean;
  readonly tlsServerName?: string;
}

const TOKEN_FILE_REFRESH_MS = 60_000;

/** Access with credentials fixed at load (a token file is re-read each minute). */
export function staticAccess(
  cluster: StaticCluster,
  user: StaticUser,
  now: () => number = Date.now,
): ClusterAccess {
  const options: ConnectionOptions = {};
  if (cluster.ca) options.ca = cluster.ca;
  if (user.cert) options.cert = user.cert;
  if (user.key) options.key = user.key;
  if (cluster.insecureSkipTlsVerify) options.rejectUnauthorized = false;
  if (cluster.tlsServerName) options.servername = cluster.tlsServerName;
  const tls: TlsIdentity = { options };
  const fixed = authorization(user.token, user);
  let fromFile: { credentials: Credentials; readAt: number } | undefined;
  const withHeaders = (auth: string | undefined): Credentials => ({
    tls,
    headers: auth ? { authorization: auth } : {},
  });
  const constant = withHeaders(fixed);
  return {
    server: cluster.server.replace(/\/+$/, ''),
    credentials() {
      if (!user.tokenFile || user.token) return constant;
      if (!fromFile || now() - fromFile.readAt >= TOKEN_FILE_REFRESH_MS) {
        const token = readFileSync(user.tokenFile, 'utf8').trim();
        fromFile = { credentials: withHeaders(authorization(token, user)), readAt: now() };
      }
      return fromFile.credentials;
    },
  };
}

function authorization(token: string | undefined, user: StaticUser): string | undefined {
  if (token) return `Bearer ${token}`;
  if (user.username !== undefined)
    return `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
  return undefined;
}

/** The parts of client-node's `KubeConfig` this module reads (a type, so nothing is loaded). */
export interface KubeConfigLike {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: object): Promise<void>;
}

// The TLS settings client-node's applyToHTTPSOptions fills in.
const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'];

/**
 * Access through a client-node `KubeConfig`: its exec and auth-provider plugins produce the
 * credentials. Equal credentials keep one TLS identity, so their connection is reused.
 */
export function accessFromKubeConfig(kc: KubeConfigLike): ClusterAccess {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  let last: { key: string; tls: TlsIdentity } | undefined;
  return {
    server: cluster.server.replace(/\/+$/, ''),
    async credentials() {
      const opts: Record<string, unknown> & { headers?: Record<string, unknown>; auth?: string } =
        {};
      await kc.applyToHTTPSOptions(opts);
      const options: Record<string, unknown> = {};
      for (const k of TLS_KEYS) if (opts[k] !== undefined) options[k] = opts[k];
      const key = JSON.stringify(options, (_k, v: unknown) =>
        v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer'
          ? Buffer.from((v as { data: number[] }).data).toString('base64')
          : v,
      );
      if (last?.key !== key) last = { key, tls: { options: options as ConnectionOptions } };
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(opts.headers ?? {}))
        if (value !== undefined) headers[name.toLowerCase()] = String(value);
      if (opts.auth && !headers.authorization)
        headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      return { tls: last.tls, headers };
    },
  };
}
