/**
 * How a value someone else wrote (an annotation, a cloud-config entry, a flag, a plugin's
 * answer) is echoed back in a condition, an Event, a log line or an error: quoted, its control
 * characters escaped, and cut to a bounded length. A 200 KB annotation must not become a 200 KB
 * condition, Event and log line, and a newline in one must not start a forged log line.
 */

/** Characters of the value kept before the cut. @default 80 */
export const QUOTE_LIMIT = 80;

/**
 * `value` as a short literal: a string in double quotes with JSON's escapes, a number or boolean
 * as written, anything else as JSON. Past `limit` characters the rest is replaced by a count.
 */
export function quote(value: unknown, limit = QUOTE_LIMIT): string {
  if (typeof value === 'string') return escapeControl(JSON.stringify(truncate(value, limit)));
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text =
      JSON.stringify(value, (_k, v: unknown) =>
        typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
      ) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return escapeControl(truncate(text, limit));
}

/** The first `limit` characters of `text`, then `...(N more)`, so the reader knows it was cut. */
export function truncate(text: string, limit = QUOTE_LIMIT): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}...(${text.length - limit} more characters)`;
}

/**
 * Control characters (C0, DEL, C1, and the Unicode line and paragraph separators) as `\n`,
 * `\u001b` and so on: what one log line prints stays one line, and no escape sequence reaches a
 * terminal.
 */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/**
 * The longest message kube-lbc writes into a condition, an Event or a log line: about a screen.
 * client-go's event recorder and the events.k8s.io API stop a note at 1 KiB for the same reason.
 */
export const MESSAGE_LIMIT = 1024;

/** A message bound for a condition, an Event or a log: cut to `MESSAGE_LIMIT`, controls escaped. */
export function boundMessage(text: string, limit = MESSAGE_LIMIT): string {
  return escapeControl(truncate(text, limit));
}
