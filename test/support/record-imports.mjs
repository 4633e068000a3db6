// `node --import ./test/support/record-imports.mjs ...`: appends every module URL the process
// resolves to the file named by KUBE_LBC_IMPORT_LOG, to check what a command loads.
import { register } from 'node:module';

const hook = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.KUBE_LBC_IMPORT_LOG, resolved.url + '\\n');
  return resolved;
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
