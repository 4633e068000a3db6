/**
 * What `--cloud-provider` may name: a package name (`aws`, `kube-lbc-provider-x`, `@org/provider`,
 * `@org/provider/sub`) or a file path (`./x.js`, `/opt/x.mjs`). Nothing else is imported: not a
 * `data:` or `http:` URL (code carried in the flag itself), and not a Node.js built-in
 * (`node:fs`, `child_process`), which no provider is. The built-ins' names are package names.
 */
import { isAbsolute } from 'node:path';
import { isBuiltin } from 'node:module';
import { quote } from './quote.js';

/** npm's rules for a package name (lower case, URL-safe), with an optional path inside it. */
const PACKAGE_NAME = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*(\/[A-Za-z0-9._~-]+)*$/;

/** Whether `name` is taken as a path: it starts with `.` or is absolute. */
export function isProviderPath(name: string): boolean {
  return (
    name === '.' ||
    name === '..' ||
    name.startsWith('./') ||
    name.startsWith('../') ||
    isAbsolute(name)
  );
}

/** Why `name` cannot be a `--cloud-provider`, or undefined when it can. */
export function providerSpecifierError(
  name: string,
  path = isProviderPath(name),
): string | undefined {
  if (path) return name.includes('\0') ? 'a path may not contain NUL' : undefined;
  if (!PACKAGE_NAME.test(name) || name.length > 214) {
    return `${quote(name)} is neither a provider name, a package name nor a path (./ or /)`;
  }
  if (isBuiltin(name)) return `${quote(name)} is a Node.js built-in module, not a provider`;
  return undefined;
}
