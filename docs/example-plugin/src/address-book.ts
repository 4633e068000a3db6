/**
 * The "cloud" of this example: an in-memory book of load balancers, each holding one address
 * from a fixed pool. A real plugin would have its cloud's SDK client here instead; what matters is
 * that the provider keeps nothing in memory itself, so a restart finds everything in the book.
 */

export interface Assignment {
  readonly name: string;
  readonly address: string;
  /** Ownership tags, so listLoadBalancers can find this cluster's load balancers. */
  readonly cluster: string;
  readonly serviceUID: string;
  readonly namespace: string;
  readonly serviceName: string;
  /** `protocol/port->nodePort`, sorted. */
  readonly listeners: readonly string[];
  /** Node addresses, sorted. */
  readonly targets: readonly string[];
}

export class AddressBook {
  readonly #assignments = new Map<string, Assignment>();

  async get(name: string): Promise<Assignment | undefined> {
    return this.#assignments.get(name);
  }

  async list(): Promise<Assignment[]> {
    return [...this.#assignments.values()];
  }

  /** Takes the first free address of `pool` (or `wanted`, if free); fails when none is left. */
  async create(
    fields: Omit<Assignment, 'address' | 'targets'>,
    pool: readonly string[],
    wanted?: string,
  ): Promise<Assignment> {
    if (this.#assignments.has(fields.name)) throw new Error(`${fields.name} already exists`);
    const taken = new Set([...this.#assignments.values()].map((a) => a.address));
    const address = wanted ?? pool.find((a) => !taken.has(a));
    if (!address || taken.has(address)) throw new Error(`no free address for ${fields.name}`);
    const created = { ...fields, address, targets: [] };
    this.#assignments.set(fields.name, created);
    return created;
  }

  async setListeners(name: string, listeners: readonly string[]): Promise<void> {
    this.#assignments.set(name, { ...this.#mustGet(name), listeners: [...listeners] });
  }

  async setTargets(name: string, targets: readonly string[]): Promise<void> {
    this.#assignments.set(name, { ...this.#mustGet(name), targets: [...targets] });
  }

  async delete(name: string): Promise<void> {
    this.#mustGet(name);
    this.#assignments.delete(name);
  }

  /** What exists, for the conformance kit's leak checks. */
  snapshot(): Assignment[] {
    return [...this.#assignments.values()];
  }

  #mustGet(name: string): Assignment {
    const found = this.#assignments.get(name);
    if (!found) throw Object.assign(new Error(`${name} not found`), { notFound: true });
    return found;
  }
}
