/**
 * IPv4 arithmetic on unsigned 32-bit integers: the pool and source-range checks compare numbers,
 * never strings. IPv6 is out of scope (the provider declares dualStack false).
 */
import { isIPv4 } from 'node:net';
import { quote } from '../../contract/quote.js';

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** An inclusive range of addresses. */
export interface IpRange {
  readonly first: number;
  readonly last: number;
}

/**
 * Parses `10.0.0.0/24` (its host addresses: .1 to .254), `10.0.0.5-10.0.0.9` (all five) or a
 * single address. Returns an error message
 * instead of throwing, so config validation can name the offending entry.
 */
export function parseRange(text: string): IpRange | string {
  const trimmed = text.trim();
  if (trimmed.includes('/')) {
    const block = parseCidr(trimmed);
    if (typeof block === 'string') return block;
    // A subnet's network and broadcast addresses are not for hosts (a /31 or /32 has neither).
    return block.last - block.first >= 3 ? { first: block.first + 1, last: block.last - 1 } : block;
  }
  if (trimmed.includes('-')) {
    const [a, b] = trimmed.split('-').map((s) => s.trim());
    if (!isIPv4(a!) || !isIPv4(b!)) return `${quote(text)} is not an IPv4 range a-b`;
    const first = ipToInt(a!);
    const last = ipToInt(b!);
    if (last < first) return `${quote(text)} ends before it starts`;
    return { first, last };
  }
  if (!isIPv4(trimmed)) return `${quote(text)} is not an IPv4 address, CIDR or range`;
  const n = ipToInt(trimmed);
  return { first: n, last: n };
}

/**
 * A CIDR as a block of addresses, all of them (a source range is a prefix: its first and last
 * address are clients like any other). The prefix length is 0 to 32 in decimal digits: an empty
 * one is a typo, never /0.
 */
export function parseCidr(text: string): IpRange | string {
  const [base = '', bitsText = '', extra] = text.trim().split('/');
  if (!isIPv4(base) || extra !== undefined || !/^\d{1,2}$/.test(bitsText) || Number(bitsText) > 32)
    return `${quote(text)} is not an IPv4 CIDR`;
  const bits = Number(bitsText);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const network = (ipToInt(base) & mask) >>> 0;
  return { first: network, last: (network | (~mask >>> 0)) >>> 0 };
}

export function inRanges(ranges: readonly IpRange[], n: number): boolean {
  return ranges.some((r) => n >= r.first && n <= r.last);
}

/** The IPv4 address inside `::ffff:a.b.c.d`, which dual-stack sockets report. */
export function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
