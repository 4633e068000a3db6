/**
 * dh and sh, as IPVS's ip_vs_dh.c and ip_vs_sh.c: a 256-bucket table filled with backends in
 * turn (sh gives a backend as many buckets as its weight), indexed by a multiplicative hash of the
 * destination (dh) or source (sh) address. The table is rebuilt only when the backend set
 * changes, so a client keeps its backend across health flaps of others. When the hashed backend is
 * unavailable the next buckets are tried (IPVS's sh-fallback), so a dead backend's clients move
 * while everyone else stays put.
 */
import { isIPv4 } from 'node:net';
import { ipToInt } from '../ipv4.js';
import type { BackendView, PickContext, Scheduler } from './types.js';

const tableBits = 8;
const tableSize = 1 << tableBits;

export class HashScheduler implements Scheduler {
  readonly #key: (ctx: PickContext) => string;
  readonly #weighted: boolean;
  #signature = '';
  /**
   * Bucket -> position in `backends`. The signature lists the ids in order, so while it holds,
   * a position names the same backend: a pick needs no lookup by id.
   */
  #table: number[] = [];

  constructor(kind: 'dh' | 'sh') {
    this.#key = kind === 'dh' ? (c) => c.destinationAddress : (c) => c.clientAddress;
    this.#weighted = kind === 'sh';
  }

  pick(backends: readonly BackendView[], ctx: PickContext): BackendView | undefined {
    this.#rebuildIfChanged(backends);
    if (this.#table.length === 0) return undefined;
    const start = hashAddress(this.#key(ctx));
    for (let offset = 0; offset < tableSize; offset++) {
      const b = backends[this.#table[(start + offset) % tableSize]!]!;
      if (b.available) return b;
    }
    return undefined;
  }

  #rebuildIfChanged(backends: readonly BackendView[]): void {
    const signature = backends.map((b) => `${b.id}*${this.#weighted ? b.weight : 1}`).join(',');
    if (signature === this.#signature) return;
    this.#signature = signature;
    const slots: number[] = [];
    backends.forEach((b, position) => {
      const copies = this.#weighted ? Math.max(0, b.weight) : 1;
      for (let i = 0; i < copies; i++) slots.push(position);
    });
    // Interleave rather than group: bucket i takes slot i mod n, as IPVS fills its table.
    this.#table =
      slots.length === 0
        ? []
        : Array.from({ length: tableSize }, (_, i) => slots[i % slots.length]!);
  }
}

/** IPVS's hash: the address times the golden-ratio prime, top bits. */
export function hashAddress(address: string): number {
  const n = isIPv4(address) ? ipToInt(address) : fnv1a(address);
  return Math.imul(n, 2654435761) >>> (32 - tableBits);
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
