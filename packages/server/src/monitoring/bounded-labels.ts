/** The label every value past the cap is counted under. */
export const OTHER_LABEL = 'other';

/**
 * Caps how many distinct values a label (organisation, namespace) may take: the first `cap`
 * values seen keep their own series, every later one is counted under {@link OTHER_LABEL}.
 * Metrics memory and Prometheus cardinality are then bounded whatever clients do; a tenant
 * that arrives after the cap is still counted, only not on its own.
 */
export class BoundedLabels {
  readonly #admitted = new Set<string>();
  readonly #cap: number;

  constructor(cap: number) {
    this.#cap = cap;
  }

  /** The label to count `value` under. */
  label(value: string): string {
    if (this.#admitted.has(value)) return value;
    if (this.#admitted.size >= this.#cap || value === OTHER_LABEL) return OTHER_LABEL;
    this.#admitted.add(value);
    return value;
  }

  has(value: string): boolean {
    return this.#admitted.has(value);
  }
}
