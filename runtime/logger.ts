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

const SECRET_KEYS = [
  'secretAccessKey',
  'sessionToken',
  'token',
  'password',
  'credentials',
  'authorization',
];
/** pino matches redact paths level by level: top level, one and two levels down. */
const redactPaths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/**
 * A pino logger writing JSON lines. Secrets never reach it: credentials live in the SDKs' own
 * chains, and the redact list below catches the field names that could carry one.
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
      redact: { paths: redactPaths, censor: '[redacted]' },
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
  return base as unknown as Logger;
}

/** A copy of a log field with every string cut to `MESSAGE_LIMIT`, lists to 100 entries. */
function bounded(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return truncate(value, MESSAGE_LIMIT);
  if (typeof value !== 'object' || value === null || depth > 4) return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => bounded(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bounded(v, depth + 1)]));
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
