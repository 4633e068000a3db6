/**
 * Metrics a provider reports about what it runs itself (the local provider's data path), read at
 * every scrape of `/metrics` and served beside the controller's own. Plain data, so the contract
 * depends on no metrics library.
 */
export interface MetricFamily {
  /** Prometheus name; start it with `kube_lbc_<provider>_`. Counters end in `_total`. */
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  /** Every label any sample carries. */
  readonly labelNames: readonly string[];
  readonly samples: readonly {
    readonly labels: Readonly<Record<string, string>>;
    readonly value: number;
  }[];
}
