/**
 * Reading a kubeconfig the way kubectl does, for `ClusterAccess`: the in-cluster service account,
 * or one or more files (`$KUBECONFIG` may list several: the first file's current-context wins and
 * the first entry of a name wins, as client-go merges them). File paths inside a file are relative
 * to that file. Users whose credentials come from a program (`exec`, `auth-provider`) are handed
 * to client-node's `KubeConfig`, which runs those plugins; it is loaded only for them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse, YAMLError } from 'yaml';
import {
  accessFromKubeConfig,
  staticAccess,
  type ClusterAccess,
  type Credentials,
  type StaticUser,
} from './cluster-access.js';

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** An error in a kubeconfig: its message names the field or the position, never its content. */
export class KubeconfigError extends Error {}

/** True when this process runs in a Pod with a service account token mounted. */
export function inCluster(env: NodeJS.ProcessEnv, root = SERVICE_ACCOUNT): boolean {
  return !!env.KUBERNETES_SERVICE_HOST && existsSync(join(root, 'token'));
}

/** The API server as a Pod reaches it: the service's address, the mounted CA and token. */
export function inClusterAccess(env: NodeJS.ProcessEnv, root = SERVICE_ACCOUNT): ClusterAccess {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const caPath = join(root, 'ca.crt');
  return staticAccess(
    { server, ca: existsSync(caPath) ? readFileSync(caPath) : undefined },
    { tokenFile: join(root, 'token') },
  );
}

type Entry = Record<string, unknown>;
interface Named {
  name: string;
  value: Entry;
  /** The file the entry came from: its relative paths are relative to it. */
  file: string;
}

interface Merged {
  currentContext?: string;
  contexts: Map<string, Named>;
  clusters: Map<string, Named>;
  users: Map<string, Named>;
}

/** Access from the kubeconfig file(s) at `paths`, through the current context. */
export function fileAccess(paths: readonly string[]): ClusterAccess {
  const merged: Merged = { contexts: new Map(), clusters: new Map(), users: new Map() };
  for (const path of paths) mergeFile(merged, path);
  if (!merged.currentContext) throw new KubeconfigError('no current-context is set');
  const context = merged.contexts.get(merged.currentContext);
  if (!context) throw new KubeconfigError('the current-context names no context in the file');
  const clusterName = context.value.cluster;
  const cluster = typeof clusterName === 'string' ? merged.clusters.get(clusterName) : undefined;
  if (!cluster) throw new KubeconfigError('the current context names no cluster in the file');
  const userName = context.value.user;
  const user = typeof userName === 'string' ? merged.users.get(userName) : undefined;

  const c = cluster.value;
  const server = stringField(c, 'server', 'cluster');
  if (!server) throw new KubeconfigError('the current cluster has no server');
  if (c['proxy-url'] !== undefined)
    throw new KubeconfigError('cluster.proxy-url: kube-lbc does not reach the API through a proxy');
  const u = user?.value ?? {};
  if (u.exec !== undefined || u['auth-provider'] !== undefined)
    return pluginAccess(server, paths, user!.name);

  const clusterFile = cluster.file;
  const userFile = user?.file ?? clusterFile;
  const userOut: StaticUser = {
    token: stringField(u, 'token', 'user'),
    tokenFile: pathField(u, 'tokenFile', userFile),
    username: stringField(u, 'username', 'user'),
    password: stringField(u, 'password', 'user'),
    cert: bytes(u, 'client-certificate-data', 'client-certificate', userFile),
    key: bytes(u, 'client-key-data', 'client-key', userFile),
  };
  return staticAccess(
    {
      server,
      ca: bytes(c, 'certificate-authority-data', 'certificate-authority', clusterFile),
      insecureSkipTlsVerify: c['insecure-skip-tls-verify'] === true,
      tlsServerName: stringField(c, 'tls-server-name', 'cluster'),
    },
    userOut,
  );
}

function mergeFile(merged: Merged, path: string): void {
  let doc: unknown;
  const text = readFileSync(path, 'utf8');
  try {
    doc = parse(text);
  } catch (err) {
    throw new KubeconfigError(`not valid YAML: ${whereInFile(err)}`);
  }
  if (doc == null) return;
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new KubeconfigError('the file must hold a mapping');
  const d = doc as Entry;
  if (merged.currentContext === undefined && typeof d['current-context'] === 'string')
    merged.currentContext = d['current-context'] || undefined;
  addNamed(merged.contexts, d.contexts, 'contexts', 'context', path);
  addNamed(merged.clusters, d.clusters, 'clusters', 'cluster', path);
  addNamed(merged.users, d.users, 'users', 'user', path);
}

function addNamed(
  into: Map<string, Named>,
  list: unknown,
  field: string,
  inner: string,
  file: string,
): void {
  if (list == null) return;
  if (!Array.isArray(list)) throw new KubeconfigError(`${field}: expected a list`);
  list.forEach((item: unknown, i) => {
    const entry = item as Entry | null;
    const name = entry?.name;
    if (typeof name !== 'string') throw new KubeconfigError(`${field}[${i}].name: expected a name`);
    const value = entry?.[inner] ?? {};
    if (typeof value !== 'object' || Array.isArray(value))
      throw new KubeconfigError(`${field}[${i}].${inner}: expected a mapping`);
    if (!into.has(name)) into.set(name, { name, value: value as Entry, file });
  });
}

function stringField(entry: Entry, key: string, where: string): string | undefined {
  const value = entry[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new KubeconfigError(`${where}.${key}: expected a string`);
  return value;
}

function pathField(entry: Entry, key: string, file: string): string | undefined {
  const path = stringField(entry, key, 'user');
  return path === undefined || isAbsolute(path) ? path : join(dirname(file), path);
}

/** Inline base64 data, else the file a path names (relative to the kubeconfig). */
function bytes(entry: Entry, dataKey: string, fileKey: string, file: string): Buffer | undefined {
  const data = stringField(entry, dataKey, 'field');
  if (data !== undefined) return Buffer.from(data, 'base64');
  const path = stringField(entry, fileKey, 'field');
  if (path === undefined) return undefined;
  const full = isAbsolute(path) ? path : join(dirname(file), path);
  try {
    return readFileSync(full);
  } catch (err) {
    throw new KubeconfigError(
      `${fileKey}: cannot read it (${(err as NodeJS.ErrnoException).code})`,
    );
  }
}

/**
 * A user whose credentials a plugin makes: client-node's KubeConfig runs it, loaded at the first
 * request. `KUBECONFIG`-style merging is client-node's own there.
 */
function pluginAccess(server: string, paths: readonly string[], user: string): ClusterAccess {
  let delegate: Promise<ClusterAccess> | undefined;
  const load = async (): Promise<ClusterAccess> => {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    if (paths.length === 1) kc.loadFromFile(paths[0]!);
    else kc.loadFromDefault({ onInvalidEntry: 'filter' } as never);
    if (kc.getCurrentUser()?.name !== user)
      throw new KubeconfigError('the kubeconfig changed while it was being read');
    return accessFromKubeConfig(kc);
  };
  return {
    server: server.replace(/\/+$/, ''),
    async credentials(): Promise<Credentials> {
      delegate ??= load();
      return (await delegate).credentials();
    },
  };
}

/** `line 3, column 7 (BAD_INDENT)`: the position and the parser's code, none of the file's text. */
export function whereInFile(err: unknown): string {
  if (!(err instanceof YAMLError)) return 'unreadable';
  const pos = err.linePos?.[0];
  return `${pos ? `line ${pos.line}, column ${pos.col}` : 'at an unknown position'} (${err.code})`;
}
