/**
 * client-node 1.x builds a new http(s).Agent for every request (KubeConfig.createAgent), so every
 * API call opens a new connection: against a real API server, a TLS handshake per call. This
 * makes one KubeConfig hand out one keep-alive agent per distinct set of agent options, so calls
 * share connections; rotated client certificates change the options and get a new agent.
 */
import type { Agent } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

type CreateAgent = (cluster: unknown, agentOptions: Record<string, unknown>) => Agent;

const patched = new WeakSet<KubeConfig>();

export function reuseConnections(kc: KubeConfig): KubeConfig {
  if (patched.has(kc)) return kc;
  patched.add(kc);
  const target = kc as unknown as { createAgent: CreateAgent };
  const original = target.createAgent.bind(kc);
  const agents = new Map<string, Agent>();
  target.createAgent = (cluster, agentOptions) => {
    const key = JSON.stringify([cluster, agentOptions]);
    let agent = agents.get(key);
    if (!agent) {
      agent = original(cluster, { ...agentOptions, keepAlive: true });
      agents.set(key, agent);
    }
    return agent;
  };
  return kc;
}
