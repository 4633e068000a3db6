/**
 * pino behind the contract's `Logger`: JSON lines for machines, a short text line for people.
 */
import { pino } from 'pino';
import type { Logger } from '../contract/logger.js';

export interface LoggerOptions {
  /** @default 'info' */
  level?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** JSON lines for machines, or a short human line for the sandbox. @default 'json' */
  format?: 'json' | 'text';
  destination?: NodeJS.WritableStream;
}

const SECRET_KEYS = ['secretAccessKey', 'sessionToken', 'token', 'password', 'credentials', 'authorization'];
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
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: '[redacted]' },
    },
    options.format === 'text' ? textStream(destination) : (destination as pino.DestinationStream),
  );
  return base as unknown as Logger;
}

/** `LEVEL msg key=value ...`: what a person reads in `kube-lbc sandbox`. */
function textStream(out: NodeJS.WritableStream): pino.DestinationStream {
  return {
    write(line: string) {
      const { level, time, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
      void time;
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      out.write(`${String(level).toUpperCase().padEnd(5)} ${String(msg ?? '')} ${fields}\n`);
    },
  };
}
