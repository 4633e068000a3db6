/**
 * Just enough OpenAPI v3 for kubectl: the index at /openapi/v3 and, per group-version, a document
 * whose PATCH operations name their kind and take the `fieldValidation` query parameter. That is
 * what kubectl checks before it leaves validation to the server; without it `kubectl apply`
 * refuses to run ("failed to download openapi") unless given --validate=false. There are no
 * schemas: kubectl computes strategic merge patches from its built-in types instead.
 */
import { createHash } from 'node:crypto';
import { EMULATED_VERSION } from './discovery.js';
import { apiVersionOf, type ResourceType } from './types.js';

const pathKey = (group: string, version: string) =>
  group ? `apis/${group}/${version}` : `api/${version}`;

function groupVersions(registry: ResourceType[]): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const rt of registry) seen.set(apiVersionOf(rt), { group: rt.group, version: rt.version });
  return [...seen.values()];
}

export function openApiDocument(registry: ResourceType[], group: string, version: string): unknown {
  const rts = registry.filter((rt) => rt.group === group && rt.version === version);
  if (rts.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const rt of rts) {
    const base = `/${pathKey(group, version)}${rt.namespaced ? '/namespaces/{namespace}' : ''}/${rt.resource}/{name}`;
    paths[base] = {
      patch: {
        operationId: `patch${rt.kind}`,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group, version, kind: rt.kind },
        parameters: [
          { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } },
        ],
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: EMULATED_VERSION.gitVersion },
    paths,
    components: { schemas: {} },
  };
}

export function openApiIndex(registry: ResourceType[]): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const { group, version } of groupVersions(registry)) {
    const key = pathKey(group, version);
    const hash = createHash('sha512')
      .update(JSON.stringify(openApiDocument(registry, group, version)))
      .digest('hex')
      .slice(0, 128);
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash.toUpperCase()}` };
  }
  return { paths };
}
