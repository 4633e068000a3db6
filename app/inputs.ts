/**
 * Reading what the flags point at: the kubeconfig (in-cluster first, as the issue and
 * upstream's CCM do, then $KUBECONFIG, then ~/.kube/config) and the cloud-config file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { reuseConnections } from '../runtime/kube-client.js';
import { ConfigError } from './options/config.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function loadKubeConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) kc.loadFromCluster();
    else if (env.KUBECONFIG) kc.loadFromDefault();
    else if (existsSync(join(homedir(), '.kube', 'config'))) kc.loadFromFile(join(homedir(), '.kube', 'config'));
    else throw new Error('not in a cluster, $KUBECONFIG unset and ~/.kube/config missing');
  } catch (err) {
    throw new ConfigError([`--kubeconfig: cannot load a kubeconfig${path ? ` from "${path}"` : ''}: ${(err as Error).message}`]);
  }
  if (!kc.getCurrentCluster()) throw new ConfigError([`--kubeconfig: no current cluster in ${path ?? 'the kubeconfig'}`]);
  return reuseConnections(kc);
}

/** The cloud-config file as a plain object; `{}` when no file is given. */
export function loadCloudConfig(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`--cloud-config: cannot read "${path}": ${(err as Error).message}`]);
  }
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw new ConfigError([`--cloud-config: "${path}" is not valid YAML or JSON: ${(err as Error).message}`]);
  }
  if (value == null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([`--cloud-config: "${path}" must hold a mapping of keys to values`]);
  }
  return value as Record<string, unknown>;
}
