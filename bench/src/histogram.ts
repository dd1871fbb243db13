/**
 * A small HDR-like histogram of non-negative integers (the benchmarks record microseconds):
 * values below 256 are exact, above that each power of two is split into 128 buckets, so a
 * reported value is within 0.4 % of the recorded one. Fixed memory (about 26 KB), values
 * up to 2^31 (35 minutes in µs); larger ones are clamped. Mergeable across processes.
 */
const EXACT = 256;
const SUB_BITS = 7;
const SUB = 1 << SUB_BITS; // 128 sub-buckets per power of two
const MAX_EXPONENT = 30;
const BUCKETS = EXACT + (MAX_EXPONENT - 8 + 1) * SUB;
const MAX_VALUE = 2 ** 31 - 1;

export interface HistogramSummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Non-empty buckets as [index, count] pairs: what crosses the IPC channel. */
export type SerializedHistogram = Array<[number, number]>;

export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = 0;

  get count(): number {
    return this.#count;
  }

  record(value: number): void {
    const v = Math.min(MAX_VALUE, Math.max(0, Math.round(value)));
    this.#counts[indexOf(v)]! += 1;
    this.#count += 1;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  /** The value at or below which `fraction` (0..1) of the recorded values lie. */
  percentile(fraction: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(fraction * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, valueOf(i)));
    }
    return this.#max;
  }

  summary(): HistogramSummary {
    return {
      count: this.#count,
      min: this.#count === 0 ? 0 : this.#min,
      mean: this.#count === 0 ? 0 : this.#sum / this.#count,
      p50: this.percentile(0.5),
      p90: this.percentile(0.9),
      p99: this.percentile(0.99),
      p999: this.percentile(0.999),
      max: this.#max,
    };
  }

  serialize(): { buckets: SerializedHistogram; sum: number; min: number; max: number } {
    const buckets: SerializedHistogram = [];
    for (let i = 0; i < BUCKETS; i++) if (this.#counts[i]! > 0) buckets.push([i, this.#counts[i]!]);
    return { buckets, sum: this.#sum, min: this.#min, max: this.#max };
  }

  merge(other: ReturnType<Histogram['serialize']>): void {
    for (const [index, count] of other.buckets) {
      this.#counts[index]! += count;
      this.#count += count;
    }
    this.#sum += other.sum;
    if (other.buckets.length > 0) {
      this.#min = Math.min(this.#min, other.min);
      this.#max = Math.max(this.#max, other.max);
    }
  }

  static from(serialized: ReturnType<Histogram['serialize']>): Histogram {
    const histogram = new Histogram();
    histogram.merge(serialized);
    return histogram;
  }
}

function indexOf(v: number): number {
  if (v < EXACT) return v;
  const exponent = 31 - Math.clz32(v); // 8..30
  const shift = exponent - SUB_BITS;
  return EXACT + (exponent - 8) * SUB + ((v >>> shift) - SUB);
}

/** Midpoint of the bucket's range (exact below 256). */
function valueOf(index: number): number {
  if (index < EXACT) return index;
  const exponent = Math.floor((index - EXACT) / SUB) + 8;
  const shift = exponent - SUB_BITS;
  const sub = ((index - EXACT) % SUB) + SUB;
  return (sub << shift) + ((1 << shift) >>> 1);
}
