/**
 * Splits a watch's streamed body into lines as chunks arrive, keeping only the unfinished line
 * between chunks: a watch runs for minutes and its body must never be held whole.
 */
import type { Readable } from 'node:stream';

export function readLines(body: Readable, onLine: (line: string) => void): void {
  let partial = '';
  body.setEncoding('utf8');
  body.on('data', (chunk: string) => {
    let nl = chunk.indexOf('\n');
    if (nl < 0) {
      partial += chunk;
      return;
    }
    const text = partial + chunk;
    let start = 0;
    nl += partial.length;
    partial = '';
    while (nl >= 0) {
      if (nl > start) onLine(text.slice(start, nl));
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    partial = text.slice(start);
  });
}
