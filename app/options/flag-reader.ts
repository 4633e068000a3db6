/**
 * Reads raw flag values by name and type, collecting an error naming the flag and the value for
 * each one that does not parse, so a validator can carry on and report them all at once.
 */
import { quote } from '../../contract/quote.js';
import { parseDuration } from './duration.js';

const MAX_DURATION_MS = 2 ** 31 - 1;

/** Flag values as commander hands them over: strings, booleans and string lists. */
export type RawFlags = Record<string, string | boolean | string[] | undefined>;

export class FlagReader {
  readonly errors: string[] = [];
  constructor(readonly flags: RawFlags) {}

  fail(message: string): void {
    this.errors.push(message);
  }

  str(name: string): string | undefined {
    return this.flags[name] as string | undefined;
  }

  list(name: string): string[] {
    return (this.flags[name] as string[] | undefined) ?? [];
  }

  int(name: string, min: number, max: number): number {
    const raw = this.str(name);
    const n = /^\d+$/.test(raw ?? '') ? Number(raw) : NaN;
    if (!(n >= min && n <= max))
      this.fail(`--${name}: expected an integer from ${min} to ${max}, got ${quote(raw)}`);
    return n;
  }

  /** A finite number above 0 and up to `max` (an integer where a count is meant), or undefined when not given. */
  optionalPositive(name: string, max: number, { integer = false } = {}): number | undefined {
    const raw = this.str(name);
    if (raw === undefined) return undefined;
    const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
    if (!(n > 0 && n <= max) || (integer && !Number.isInteger(n))) {
      this.fail(
        `--${name}: expected ${integer ? 'an integer' : 'a number'} above 0 and up to ${max}, got ${quote(raw)}`,
      );
    }
    return n;
  }

  /**
   * Milliseconds of a Go-style duration (`15s`, `1m30s`), at most Node's timer limit (2^31 - 1
   * ms, about 596 h): a longer delay fires after 1 ms, and a period becomes a busy loop.
   */
  duration(name: string, { allowZero = false } = {}): number {
    const raw = this.str(name) ?? '';
    const ms = parseDuration(raw);
    if (Number.isNaN(ms) || (!allowZero && ms <= 0) || ms > MAX_DURATION_MS) {
      this.fail(
        `--${name}: expected a duration such as 15s or 1m30s${allowZero ? ' (0 disables)' : ', above 0'}, up to 596h, got ${quote(raw)}`,
      );
    }
    return ms;
  }

  bool(name: string): boolean {
    const raw = this.flags[name];
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    this.fail(`--${name}: expected true or false, got ${quote(raw)}`);
    return false;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const raw = this.str(name) as T;
    if (!allowed.includes(raw))
      this.fail(`--${name}: expected one of ${allowed.join(', ')}, got ${quote(raw)}`);
    return raw;
  }
}
