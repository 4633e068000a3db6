/**
 * The `--cloud-config` keys the GCP provider accepts. Project and region come from Application
 * Default Credentials and the metadata server unless set here; credentials never come from this
 * file (a config file is the wrong place for a secret, and ADC already covers every way to get one).
 */
import { ProviderConfigError } from '../../contract/errors.js';

export interface GcpConfig {
  readonly project?: string;
  readonly region?: string;
  /** The VPC network of the nodes (firewalls, internal load balancers). @default 'default' */
  readonly network?: string;
  /** The subnetwork internal load balancers take their address from. @default 'default' */
  readonly subnetwork?: string;
  /** The network tags firewall rules target; without them, the tags of the nodes' instances. */
  readonly nodeTags?: readonly string[];
  /**
   * Another Compute endpoint (`https://compute.private.googleapis.com`, or `http://127.0.0.1:port`
   * for the emulator). Over plain `http` no credentials are sent.
   */
  readonly apiEndpoint?: string;
}

const keys = ['project', 'region', 'network', 'subnetwork', 'nodeTags', 'apiEndpoint'] as const;
const gceName = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

/** Validates the parsed cloud-config; throws `ProviderConfigError` naming the first bad key. */
export function parseGcpConfig(raw: Readonly<Record<string, unknown>>): GcpConfig {
  for (const key of Object.keys(raw)) {
    if (/credential|secret|token|private.?key|key.?file|password|client.?email/i.test(key)) {
      throw new ProviderConfigError(
        key,
        'credentials are not read from the cloud-config; use Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, workload identity, the metadata server)',
      );
    }
    if (!(keys as readonly string[]).includes(key)) {
      throw new ProviderConfigError(key, `unknown key (accepted: ${keys.join(', ')})`);
    }
  }
  const config: { -readonly [K in keyof GcpConfig]: GcpConfig[K] } = {};
  for (const key of ['project', 'region', 'network', 'subnetwork', 'apiEndpoint'] as const) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.trim() === '') {
      throw new ProviderConfigError(
        key,
        `must be a non-empty string, got ${JSON.stringify(value)}`,
      );
    }
    config[key] = value.trim();
  }
  if (config.project !== undefined && !/^[a-z][-a-z0-9.:]{4,61}[a-z0-9]$/.test(config.project)) {
    throw new ProviderConfigError('project', `"${config.project}" is not a project ID`);
  }
  if (config.region !== undefined && !/^[a-z]+-[a-z]+\d+$/.test(config.region)) {
    throw new ProviderConfigError(
      'region',
      `"${config.region}" is not a GCE region name (us-central1)`,
    );
  }
  for (const key of ['network', 'subnetwork'] as const) {
    const value = config[key];
    if (value !== undefined && !gceName.test(value.split('/').pop()!)) {
      throw new ProviderConfigError(key, `"${value}" is not a GCE resource name or path`);
    }
  }
  if (raw.nodeTags !== undefined) {
    const tags = raw.nodeTags;
    if (
      !Array.isArray(tags) ||
      tags.length === 0 ||
      tags.some((t) => typeof t !== 'string' || !gceName.test(t))
    ) {
      throw new ProviderConfigError(
        'nodeTags',
        `must be a list of network tags (lowercase names), got ${JSON.stringify(tags)}`,
      );
    }
    config.nodeTags = Object.freeze([...(tags as string[])]);
  }
  if (config.apiEndpoint !== undefined && !isHttpUrl(config.apiEndpoint)) {
    throw new ProviderConfigError('apiEndpoint', `"${config.apiEndpoint}" is not an http(s) URL`);
  }
  return Object.freeze(config);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
