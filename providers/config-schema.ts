/**
 * The building blocks of every provider's `--cloud-config` schema (zod 4). A provider declares
 * its file once, as a schema of these; validation, the error text and the README's table of keys
 * all follow from that one declaration, so no number can be accepted unchecked again: each is
 * finite, an integer where a count is meant, and within a stated range, and the error names the
 * key, the range and (quoted, cut short) the value given.
 */
import { z } from 'zod';
import { quote } from '../contract/quote.js';
import { ProviderConfigError } from '../contract/errors.js';

/** The longest delay Node's timers keep (2^31 - 1 ms); past it they fire after 1 ms. */
export const MAX_TIMER_SECONDS = 2_147_483;

interface FieldMeta {
  /** One line for the README table. */
  readonly description: string;
}

/** A whole number from `min` to `max` inclusive: counts, thresholds, ports. */
export function integer(min: number, max: number, meta: FieldMeta) {
  const error = `expected an integer from ${min} to ${max}`;
  return z
    .int({ error })
    .min(min, { error })
    .max(max, { error })
    .meta({ ...meta, range: `${min} to ${max}, integer` });
}

/** A finite number from `min` to `max` inclusive: seconds, rates. */
export function number(min: number, max: number, meta: FieldMeta) {
  const error = `expected a number from ${min} to ${max}`;
  return z
    .number({ error })
    .min(min, { error })
    .max(max, { error })
    .meta({ ...meta, range: `${min} to ${max}` });
}

/** One of a few literal strings. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, meta: FieldMeta) {
  return z
    .enum(values, { error: `expected one of ${values.join(', ')}` })
    .meta({ ...meta, range: values.join(', ') });
}

/** A mapping with exactly these keys: an unknown one (a typo) is refused, naming what is known. */
export function mapping<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown key (known: ${known})` : 'expected a mapping',
  });
}

/**
 * Parses `raw` with `schema`, or throws a `ProviderConfigError` for the first problem, naming its
 * key (`healthCheck.intervalSeconds`, `addresses[1]`) and quoting what was given, cut short: a
 * cloud-config may hold what should have been a secret.
 */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  let path = issue.path;
  if (issue.code === 'unrecognized_keys') path = [...path, issue.keys[0]!];
  const key = path.reduce<string>(
    (text, part) =>
      typeof part === 'number'
        ? `${text}[${part}]`
        : text
          ? `${text}.${String(part)}`
          : String(part),
    '',
  );
  const given =
    issue.code === 'unrecognized_keys' || issue.input === undefined
      ? ''
      : `, got ${quote(issue.input)}`;
  throw new ProviderConfigError(key || '(top level)', `${issue.message}${given}`);
}

/** One row of a provider's table of keys: as the README shows it. */
export interface ConfigKey {
  readonly key: string;
  readonly accepts: string;
  readonly default: string;
  readonly description: string;
}

/** Every key a schema declares, nested keys dotted, in declaration order. */
export function configKeys(schema: z.ZodType): ConfigKey[] {
  const rows: ConfigKey[] = [];
  const walk = (node: z.ZodType, prefix: string) => {
    const shape = objectShape(node);
    if (!shape) return;
    for (const [name, child] of Object.entries(shape)) {
      const key = `${prefix}${name}`;
      const meta = (z.globalRegistry.get(child) ?? z.globalRegistry.get(unwrap(child)) ?? {}) as {
        description?: string;
        range?: string;
      };
      if (objectShape(child)) {
        walk(child, `${key}.`);
        continue;
      }
      const fallback = defaultOf(child);
      rows.push({
        key,
        accepts: meta.range ?? '',
        default: fallback === undefined ? '' : JSON.stringify(fallback),
        description: meta.description ?? '',
      });
    }
  };
  walk(schema, '');
  return rows;
}

/** `configKeys` as the Markdown table the README carries (and a test compares). */
export function configTable(schema: z.ZodType): string {
  const rows = configKeys(schema).map(
    (r) =>
      `| \`${r.key}\` | ${r.accepts} | ${r.default ? `\`${r.default}\`` : '(none)'} | ${r.description} |`,
  );
  return ['| key | accepts | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

function unwrap(node: z.ZodType): z.ZodType {
  let n: z.ZodType = node;
  for (;;) {
    if (n instanceof z.ZodDefault || n instanceof z.ZodPrefault || n instanceof z.ZodOptional) {
      n = n.unwrap() as z.ZodType;
    } else if (n instanceof z.ZodPipe) {
      n = n.in as z.ZodType;
    } else {
      return n;
    }
  }
}

function objectShape(node: z.ZodType): Record<string, z.ZodType> | undefined {
  const n = unwrap(node);
  return n instanceof z.ZodObject ? (n.shape as Record<string, z.ZodType>) : undefined;
}

function defaultOf(node: z.ZodType): unknown {
  let n: z.ZodType = node;
  while (n instanceof z.ZodOptional || n instanceof z.ZodPipe) {
    n = (n instanceof z.ZodPipe ? n.in : n.unwrap()) as z.ZodType;
  }
  return n instanceof z.ZodDefault ? (n.def.defaultValue as unknown) : undefined;
}
