/** What every module of the provider works with, and the link helpers they share. */
import type { GcpCalls } from './clients.js';
import type { GcpConfig } from './config.js';

export interface GcpEnv {
  readonly calls: GcpCalls;
  readonly clusterName: string;
  readonly config: GcpConfig;
  readonly project: string;
  readonly region: string;
}

/** A selfLink or partial path reduced to what follows `projects/<project>/`, for comparing. */
export function rel(link: string | null | undefined): string {
  return (link ?? '').replace(/^.*?projects\/[^/]+\//, '');
}

export function regionPath(env: GcpEnv, collection: string, name: string): string {
  return `projects/${env.project}/regions/${env.region}/${collection}/${name}`;
}

export function networkPath(env: GcpEnv): string {
  const n = env.config.network ?? 'default';
  return n.includes('/') ? n : `projects/${env.project}/global/networks/${n}`;
}

export function subnetworkPath(env: GcpEnv, name?: string): string {
  const n = name ?? env.config.subnetwork ?? 'default';
  return n.includes('/') ? n : `projects/${env.project}/regions/${env.region}/subnetworks/${n}`;
}

export const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
