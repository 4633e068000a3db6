/**
 * Reads raw flag values by name and type, collecting an error naming the flag and the value for
 * each one that does not parse, so a validator can carry on and report them all at once.
 */
import { parseDuration } from './duration.js';

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

  int(name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.str(name);
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.fail(`--${name}: expected an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ' and up'}, got "${raw}"`);
    }
    return n;
  }

  /** A number above 0, or undefined when the flag is not given. */
  optionalPositive(name: string): number | undefined {
    const raw = this.str(name);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!(n > 0)) this.fail(`--${name}: expected a number above 0, got "${raw}"`);
    return n;
  }

  /** Milliseconds of a Go-style duration (`15s`, `1m30s`). */
  duration(name: string, { allowZero = false } = {}): number {
    const raw = this.str(name) ?? '';
    const ms = parseDuration(raw);
    if (Number.isNaN(ms) || (!allowZero && ms <= 0)) this.fail(`--${name}: expected a duration such as 15s or 1m30s, got "${raw}"`);
    return ms;
  }

  bool(name: string): boolean {
    const raw = this.flags[name];
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    this.fail(`--${name}: expected true or false, got "${String(raw)}"`);
    return false;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const raw = this.str(name) as T;
    if (!allowed.includes(raw)) this.fail(`--${name}: expected one of ${allowed.join(', ')}, got "${raw}"`);
    return raw;
  }
}
