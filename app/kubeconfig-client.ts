/**
 * A client-node `KubeConfig` for the commands that use the generated client (`plan`, `release`):
 * read from the same places as `loadClusterAccess`, its API clients sharing one connection.
 * `kube-lbc run` does not load this module (see runtime/cluster-access.ts).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { reuseConnections } from '../runtime/kube-client.js';
import { quote, truncate } from '../contract/quote.js';
import { ConfigError } from './options/config.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function loadKubeConfig(
  path: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) kc.loadFromCluster();
    else if (env.KUBECONFIG) kc.loadFromDefault();
    else if (existsSync(join(homedir(), '.kube', 'config')))
      kc.loadFromFile(join(homedir(), '.kube', 'config'));
    else throw new Error('not in a cluster, $KUBECONFIG unset and ~/.kube/config missing');
  } catch (err) {
    throw new ConfigError([
      `--kubeconfig: cannot load a kubeconfig${path ? ` from ${quote(path)}` : ''}: ${withoutExcerpt(err)}`,
    ]);
  }
  if (!kc.getCurrentCluster())
    throw new ConfigError([`--kubeconfig: no current cluster in ${path ?? 'the kubeconfig'}`]);
  return reuseConnections(kc);
}

/**
 * A kubeconfig loader's message without the excerpt of the file a YAML error carries (js-yaml
 * prints the lines around it, and a kubeconfig holds tokens and keys): its reason and position.
 */
function withoutExcerpt(err: unknown): string {
  const e = err as { name?: string; reason?: string; mark?: { line: number; column: number } };
  if (e.name === 'YAMLException' && e.mark)
    return `${e.reason ?? 'invalid YAML'} at line ${e.mark.line + 1}, column ${e.mark.column + 1}`;
  return truncate((err as Error).message.split('\n')[0] ?? '', 200);
}
