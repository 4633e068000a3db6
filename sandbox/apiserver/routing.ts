/**
 * Request paths to resource coordinates, as apiserver's RequestInfoFactory reads them:
 * `/api/v1/namespaces/{ns}/services/{name}/status`, `/apis/{group}/{version}/...`, the legacy
 * `/api/v1/watch/...` prefix, and `/api/v1/namespaces/{name}[/status]` for namespaces themselves.
 */

export interface ResourcePath {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** The deprecated `/watch/` path prefix was used. */
  watchPrefix: boolean;
}

export type ParsedPath =
  | { type: 'resource'; path: ResourcePath }
  | { type: 'groupVersion'; group: string; version: string }
  | { type: 'other' };

const NAMESPACE_SUBRESOURCES = ['status', 'finalize'];

export function parsePath(pathname: string): ParsedPath {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    [group, version, rest] = ['', parts[1]!, parts.slice(2)];
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    [group, version, rest] = [parts[1]!, parts[2]!, parts.slice(3)];
  } else {
    return { type: 'other' };
  }
  if (rest.length === 0) return { type: 'groupVersion', group, version };
  let watchPrefix = false;
  if (rest[0] === 'watch') {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 2 && !NAMESPACE_SUBRESOURCES.includes(rest[2]!)) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length === 0 || rest.length > 3) return { type: 'other' };
  const [resource, name, subresource] = rest as [string, string?, string?];
  return {
    type: 'resource',
    path: { group, version, resource, namespace, name, subresource, watchPrefix },
  };
}
