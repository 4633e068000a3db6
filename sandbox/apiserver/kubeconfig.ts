/**
 * Client configuration for the emulator: a client-node KubeConfig (plain HTTP needs
 * `skipTLSVerify: true` in client-node 1.x) and the same as YAML for `kubectl --kubeconfig`.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

const NAME = 'kube-lbc-sandbox';

export function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: NAME, server: url, skipTLSVerify: true }],
    users: [{ name: NAME }],
    contexts: [{ name: NAME, cluster: NAME, user: NAME }],
    currentContext: NAME,
  });
  return kc;
}

export function kubeconfigYamlFor(url: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // insecure-skip-tls-verify is what client-node 1.x needs to speak plain HTTP; kubectl ignores it for http.
    clusters: [{ name: NAME, cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: NAME, user: {} }],
    contexts: [{ name: NAME, context: { cluster: NAME, user: NAME, namespace: 'default' } }],
    'current-context': NAME,
  });
}
