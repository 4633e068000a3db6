/**
 * The cluster-wide pools behind Services: ClusterIPs from the service CIDR and NodePorts from the
 * node-port range (health-check node ports share it). Errors carry the allocator's own messages,
 * which the Service strategy puts into a 422 naming the field.
 */

export class AllocationError extends Error {}

export const ERR_ALLOCATED_PORT = 'provided port is already allocated';
export const ERR_ALLOCATED_IP = 'provided IP is already allocated';

export class PortAllocator {
  readonly #used = new Set<number>();
  readonly min: number;
  readonly max: number;

  constructor(range: { min: number; max: number }) {
    if (!(range.min > 0 && range.max <= 65535 && range.min <= range.max)) {
      throw new RangeError(`nodePortRange ${range.min}-${range.max} is not a valid port range`);
    }
    this.min = range.min;
    this.max = range.max;
  }

  get range(): string {
    return `${this.min}-${this.max}`;
  }

  has(port: number): boolean {
    return this.#used.has(port);
  }

  allocate(port: number): void {
    if (port < this.min || port > this.max) {
      throw new AllocationError(
        `provided port is not in the valid range. The range of valid ports is ${this.range}`,
      );
    }
    if (this.#used.has(port)) throw new AllocationError(ERR_ALLOCATED_PORT);
    this.#used.add(port);
  }

  /** A free port, picked at random as the real allocator does, so tests cannot lean on an order. */
  allocateNext(): number {
    const size = this.max - this.min + 1;
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++) {
      const port = this.min + ((start + i) % size);
      if (!this.#used.has(port)) {
        this.#used.add(port);
        return port;
      }
    }
    throw new AllocationError('range is full');
  }

  release(port: number): void {
    this.#used.delete(port);
  }
}

function ipToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

const intToIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export const isIPv4 = (s: string) => ipToInt(s) !== undefined;

export class IPAllocator {
  readonly #used = new Set<number>();
  readonly #base: number;
  readonly #size: number;
  readonly cidr: string;

  constructor(cidr: string) {
    const [ip, bits] = cidr.split('/');
    const base = ipToInt(ip ?? '');
    const prefix = Number(bits);
    if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
      throw new RangeError(`serviceCIDR ${cidr} is not an IPv4 CIDR between /8 and /30`);
    }
    const size = 2 ** (32 - prefix);
    this.#base = base - (base % size);
    this.#size = size;
    this.cidr = cidr;
  }

  /** The first usable address: the `kubernetes` Service's. */
  get first(): string {
    return intToIp(this.#base + 1);
  }

  contains(ip: string): boolean {
    const n = ipToInt(ip);
    return n !== undefined && n > this.#base && n < this.#base + this.#size - 1;
  }

  allocate(ip: string): void {
    if (!this.contains(ip))
      throw new AllocationError(
        `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.cidr}`,
      );
    const n = ipToInt(ip)!;
    if (this.#used.has(n)) throw new AllocationError(ERR_ALLOCATED_IP);
    this.#used.add(n);
  }

  allocateNext(): string {
    const usable = this.#size - 2;
    const start = Math.floor(Math.random() * usable);
    for (let i = 0; i < usable; i++) {
      const n = this.#base + 1 + ((start + i) % usable);
      if (!this.#used.has(n)) {
        this.#used.add(n);
        return intToIp(n);
      }
    }
    throw new AllocationError('range is full');
  }

  release(ip: string): void {
    const n = ipToInt(ip);
    if (n !== undefined) this.#used.delete(n);
  }
}
