/**
 * Reading what the flags point at: the kubeconfig (in-cluster first, as the issue and
 * upstream's CCM do, then $KUBECONFIG, then ~/.kube/config) and the cloud-config file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse, YAMLError } from 'yaml';
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

/** `line 3, column 7 (BAD_INDENT)`: the position and the parser's code, none of the file's text. */
function whereInFile(err: unknown): string {
  if (!(err instanceof YAMLError)) return 'unreadable';
  const pos = err.linePos?.[0];
  return `${pos ? `line ${pos.line}, column ${pos.col}` : 'at an unknown position'} (${err.code})`;
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
