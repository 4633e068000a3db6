/**
 * pino behind the contract's `Logger`: JSON lines for machines, a short text line for people.
 */
import { pino } from 'pino';
import type { Logger } from '../contract/logger.js';
import { escapeControl, MESSAGE_LIMIT, truncate } from '../contract/quote.js';

export interface LoggerOptions {
  /** @default 'info' */
  level?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** JSON lines for machines, or a short human line for the sandbox. @default 'json' */
  format?: 'json' | 'text';
  destination?: NodeJS.WritableStream;
}

/** Field names that could carry a credential: their values never reach the log, at any depth. */
const SECRET_KEYS = new Set([
  'secretAccessKey',
  'sessionToken',
  'token',
  'password',
  'credentials',
  'authorization',
]);
const REDACTED = '[redacted]';

/**
 * A pino logger writing JSON lines. Secrets never reach it: credentials live in the SDKs' own
 * chains, and every logged object is walked once (`bounded`) to censor the field names that
 * could carry one and to cut every string short. pino's own `redact` did the censoring in a
 * second pass, over wildcard paths two levels deep: without it a line costs 2.9 us instead of
 * 13-15 (a Service's line, to a null stream, Node 20), and a secret is censored at any depth
 * the walk reaches.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  // Asynchronous writes to stderr, flushed on exit by pino: each line written synchronously was
  // 5-7% of the controller's CPU while 200 Services converged (a write(2) per line).
  const destination = (options.destination ??
    pino.destination({ fd: 2, sync: false })) as NodeJS.WritableStream;
  const base = pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      // Errors are serialized inside `bounded`, so their fields are censored and cut short too;
      // pino's own pass over `err` would take the plain result for an Error and retype it.
      serializers: { err: (err: unknown) => err },
      // Values logged come from Services, cloud-configs and plugins: no one of them may fill the
      // log (a 200 KB annotation once made 4.4 MB of lines), so every string is cut short.
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => bounded(obj, 0) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const i = typeof args[0] === 'string' ? 0 : 1;
          if (typeof args[i] === 'string') args[i] = truncate(args[i] as string, MESSAGE_LIMIT);
          return method.apply(this, args);
        },
      },
    },
    options.format === 'text' ? textStream(destination) : (destination as pino.DestinationStream),
  );
  // pino formats a child's bindings once, when the child is made, but gives them no formatter
  // of ours: they pass the same walk here. Children inherit this method from their parent.
  const child = base.child;
  base.child = function (this: pino.Logger, bindings, childOptions) {
    return child.call(this, bounded(bindings, 0) as pino.Bindings, childOptions);
  } as typeof base.child;
  return base as unknown as Logger;
}

/**
 * A copy of a log field with every string cut to `MESSAGE_LIMIT`, lists to 100 entries, and the
 * value of every secret-named key censored; nothing below five levels is kept. An Error becomes
 * pino's serialized form (type, message, stack, its own fields, its cause) and is walked as well.
 */
function bounded(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return truncate(value, MESSAGE_LIMIT);
  if (typeof value !== 'object' || value === null) return value;
  if (depth > 4) return '[too deep]';
  if (value instanceof Error) return bounded({ ...pino.stdSerializers.err(value) }, depth);
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => bounded(v, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    copy[key] = SECRET_KEYS.has(key) && v !== undefined ? REDACTED : bounded(v, depth + 1);
  }
  return copy;
}

/**
 * `LEVEL msg key=value ...`: what a person reads in `kube-lbc sandbox`. Control characters are
 * escaped and a value with a space, `=` or `"` is quoted, so a newline in an annotation cannot
 * start a forged line and `a=b c=d` in a value cannot pass for two fields.
 */
function textStream(out: NodeJS.WritableStream): pino.DestinationStream {
  return {
    write(line: string) {
      const { level, time, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
      void time;
      const fields = Object.entries(rest)
        .map(([k, v]) => `${escapeControl(k)}=${textValue(v)}`)
        .join(' ');
      out.write(
        `${String(level).toUpperCase().padEnd(5)} ${escapeControl(String(msg ?? ''))} ${fields}\n`,
      );
    },
  };
}

function textValue(v: unknown): string {
  if (typeof v === 'string' && /^[^\s="\\]*$/.test(v)) return escapeControl(v);
  return escapeControl(JSON.stringify(v) ?? String(v));
}
