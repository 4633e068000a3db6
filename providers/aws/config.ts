/**
 * The `--cloud-config` keys the AWS provider accepts. Everything is optional: region, endpoint
 * and credentials come from the SDK's standard chains (env, shared config, web identity / IRSA,
 * instance metadata) unless overridden here. Credentials themselves are never accepted in the
 * file: a config file is the wrong place for a secret, and the SDK chains already cover it.
 */
import { ProviderConfigError } from '../../contract/errors.js';

export interface AwsConfig {
  /** Overrides the SDK's region chain (`AWS_REGION`, shared config, instance metadata). */
  readonly region?: string;
  /** Points ELBv2 and EC2 at another endpoint (moto, LocalStack); `AWS_ENDPOINT_URL` also works. */
  readonly endpoint?: string;
  /** Limits subnet discovery to one VPC; without it the cluster tag alone selects subnets. */
  readonly vpcId?: string;
}

const keys = ['region', 'endpoint', 'vpcId'] as const;

/** Validates the parsed cloud-config; throws `ProviderConfigError` naming the first bad key. */
export function parseAwsConfig(raw: Readonly<Record<string, unknown>>): AwsConfig {
  for (const key of Object.keys(raw)) {
    if (key === 'credentials' || /secret|accessKey|token/i.test(key)) {
      throw new ProviderConfigError(
        key,
        'credentials are not read from the cloud-config; use the AWS SDK chain (env, shared config, IRSA, instance metadata)',
      );
    }
    if (!(keys as readonly string[]).includes(key)) {
      throw new ProviderConfigError(key, `unknown key (accepted: ${keys.join(', ')})`);
    }
  }
  const config: { region?: string; endpoint?: string; vpcId?: string } = {};
  for (const key of keys) {
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
  if (config.region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(config.region)) {
    throw new ProviderConfigError('region', `"${config.region}" is not an AWS region name`);
  }
  if (config.endpoint !== undefined && !isHttpUrl(config.endpoint)) {
    throw new ProviderConfigError('endpoint', `"${config.endpoint}" is not an http(s) URL`);
  }
  if (config.vpcId !== undefined && !/^vpc-[0-9a-f]+$/.test(config.vpcId)) {
    throw new ProviderConfigError('vpcId', `"${config.vpcId}" is not a VPC ID (vpc-...)`);
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
