/**
 * The `--cloud-config` keys the AWS provider accepts. Everything is optional: region, endpoint
 * and credentials come from the SDK's standard chains (env, shared config, web identity / IRSA,
 * instance metadata) unless overridden here. Credentials themselves are never accepted in the
 * file: a config file is the wrong place for a secret, and the SDK chains already cover it.
 */
import { z } from 'zod';
import { ProviderConfigError } from '../../contract/errors.js';
import { mapping, parseConfig } from '../config-schema.js';
import { previousOwners, type PreviousOwner } from './adoption.js';

export interface AwsConfig {
  /** Overrides the SDK's region chain (`AWS_REGION`, shared config, instance metadata). */
  readonly region?: string;
  /** Points ELBv2 and EC2 at another endpoint (moto, LocalStack); `AWS_ENDPOINT_URL` also works. */
  readonly endpoint?: string;
  /** Limits subnet discovery to one VPC; without it the cluster tag alone selects subnets. */
  readonly vpcId?: string;
  /** Adopt every Service's NLB built by this previous owner (adoption.ts); per Service: annotation. */
  readonly adoptFrom?: PreviousOwner;
}

const text = (pattern: RegExp, expected: string, description: string) =>
  z
    .string({ error: `expected ${expected}` })
    .trim()
    .regex(pattern, { error: `expected ${expected}` })
    .optional()
    .meta({ description, range: expected });

/** The whole file, declared once: validation and the README's table of keys follow from it. */
export const awsConfigSchema = mapping({
  region: text(
    /^[a-z]{2}(-[a-z]+)+-\d+$/,
    'an AWS region name such as eu-west-1',
    "overrides the SDK's region chain",
  ),
  endpoint: text(
    /^https?:\/\/\S+$/,
    'an http(s) URL',
    'another ELBv2 and EC2 endpoint (moto, LocalStack); AWS_ENDPOINT_URL also works',
  ).refine((value) => value === undefined || URL.canParse(value), {
    error: 'expected an http(s) URL',
  }),
  vpcId: text(/^vpc-[0-9a-f]+$/, 'a VPC ID (vpc-...)', 'limits subnet discovery to one VPC'),
  adoptFrom: z
    .enum(previousOwners, { error: `expected one of ${previousOwners.join(', ')}` })
    .optional()
    .meta({
      description: 'takes over, in place, the NLBs this previous owner built (docs/migration.md)',
      range: previousOwners.join(' or '),
    }),
});

/** Validates the parsed cloud-config; throws `ProviderConfigError` naming the first bad key. */
export function parseAwsConfig(raw: Readonly<Record<string, unknown>>): AwsConfig {
  // Before the schema, and without the value: a key that looks like a credential is refused as such.
  for (const key of Object.keys(raw)) {
    if (key === 'credentials' || /secret|accessKey|token/i.test(key)) {
      throw new ProviderConfigError(
        key,
        'credentials are not read from the cloud-config; use the AWS SDK chain (env, shared config, IRSA, instance metadata)',
      );
    }
  }
  return Object.freeze(parseConfig(awsConfigSchema, raw));
}
