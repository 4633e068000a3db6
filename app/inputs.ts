/**
 * Reading what the flags point at: the kubeconfig (in-cluster first, as the issue and
 * upstream's CCM do, then $KUBECONFIG, then ~/.kube/config) and the cloud-config file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parse } from 'yaml';
import type { ClusterAccess } from '../runtime/cluster-access.js';
import { fileAccess, inCluster, inClusterAccess, whereInFile } from '../runtime/kubeconfig.js';
import { quote, truncate } from '../contract/quote.js';
import { ConfigError } from './options/config.js';

/**
 * The API server and credentials the kubeconfig gives, read without client-node (see
 * runtime/cluster-access.ts): `--kubeconfig`, else the Pod's service account, else $KUBECONFIG,
 * else ~/.kube/config.
 */
export function loadClusterAccess(
  path: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ClusterAccess {
  try {
    return fileOrClusterAccess(path, env);
  } catch (err) {
    throw new ConfigError([
      `--kubeconfig: cannot load a kubeconfig${path ? ` from ${quote(path)}` : ''}: ${truncate((err as Error).message.split('\n')[0] ?? '', 200)}`,
    ]);
  }
}

function fileOrClusterAccess(path: string | undefined, env: NodeJS.ProcessEnv): ClusterAccess {
  if (path) return fileAccess([path]);
  if (inCluster(env)) return inClusterAccess(env);
  if (env.KUBECONFIG) return fileAccess(env.KUBECONFIG.split(delimiter).filter(Boolean));
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) return fileAccess([home]);
  throw new Error('not in a cluster, $KUBECONFIG unset and ~/.kube/config missing');
}

/** The cloud-config file as a plain object; `{}` when no file is given. */
export function loadCloudConfig(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `--cloud-config: cannot read ${quote(path)}: ${(err as Error).message}`,
    ]);
  }
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    // Never the parser's message: it quotes the lines around the error, and a cloud-config may
    // hold what should have been a secret. Where, and what kind of error, is enough to find it.
    throw new ConfigError([
      `--cloud-config: ${quote(path)} is not valid YAML or JSON: ${whereInFile(err)}`,
    ]);
  }
  if (value == null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([`--cloud-config: ${quote(path)} must hold a mapping of keys to values`]);
  }
  return value as Record<string, unknown>;
}
