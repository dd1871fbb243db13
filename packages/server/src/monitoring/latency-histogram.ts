import * as hdr from 'hdr-histogram-js';
import type { LatencyPercentiles } from '@apix/protocol';

/** Values above this are recorded as this (ms): a publication delivered an hour late is "very late", exactly how late matters less. */
export const HIGHEST_TRACKABLE_MS = 3_600_000;
/** 2 significant digits: percentiles within 1 %, about 5 KiB per histogram. */
const SIGNIFICANT_DIGITS = 2;

export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_TRACKABLE_MS, numberOfSignificantValueDigits: SIGNIFICANT_DIGITS });
}

/** Records `valueMs` (clamped to the trackable range) `count` times. No allocation. */
export function recordInto(histogram: Histogram, valueMs: number, count: number): void {
  const value = valueMs < 0 ? 0 : valueMs > HIGHEST_TRACKABLE_MS ? HIGHEST_TRACKABLE_MS : Math.round(valueMs);
  if (count === 1) histogram.recordValue(value);
  else histogram.recordValueWithCount(value, count);
}

export function percentilesOf(histogram: Histogram): LatencyPercentiles {
  if (histogram.totalCount === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: histogram.totalCount,
    mean: Math.round(histogram.mean * 100) / 100,
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.maxValue,
  };
}

/** Sum of several histograms (for views that merge series), as a new histogram. */
export function merged(histograms: Iterable<Histogram>): Histogram {
  const sum = newHistogram();
  for (const h of histograms) if (h.totalCount > 0) sum.add(h);
  return sum;
}

/**
 * One latency series: `total` since start, and two rotating windows so that "recent" always
 * covers between one and two whole windows (the current one is never empty-just-rotated).
 * Rotation is driven by the tracker's sampler (one timer for every series), not per record.
 */
export class LatencySeriesHistograms {
  readonly total = newHistogram();
  #current = newHistogram();
  #previous = newHistogram();

  record(valueMs: number, count: number): void {
    recordInto(this.total, valueMs, count);
    recordInto(this.#current, valueMs, count);
  }

  rotate(): void {
    const reused = this.#previous;
    reused.reset();
    this.#previous = this.#current;
    this.#current = reused;
  }

  /** The current and the previous window, merged. */
  recent(): Histogram {
    return merged([this.#current, this.#previous]);
  }
}
