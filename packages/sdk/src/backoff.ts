/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): the delay is uniform in [0, min(max, base·2^attempt)). Full jitter spreads a
 * crowd of clients that lost the same server over the whole window, so they do not come
 * back in waves.
 */
export interface BackoffOptions {
  /** The base: the ceiling of the first delay. */
  minDelayMs: number;
  /** The ceiling never grows past this. */
  maxDelayMs: number;
  /** Uniform in [0, 1). Injectable so tests can pin the jitter. */
  random?: () => number;
}

/** The ceiling of the delay before retry number `attempt` (0-based). */
export function backoffCeiling(attempt: number, minDelayMs: number, maxDelayMs: number): number {
  // 2 ** attempt reaches Infinity past ~1023; Math.min keeps the cap, so no overflow guard is needed.
  return Math.min(maxDelayMs, minDelayMs * 2 ** attempt);
}

/** A full-jitter delay: uniform in [0, ceiling). */
export function fullJitterDelay(attempt: number, minDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, minDelayMs, maxDelayMs));
}

/** Counts failed attempts; `next()` gives the delay before the next one, `reset()` forgets them after a success. */
export class Backoff {
  readonly #minDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    if (!(options.minDelayMs >= 0) || !(options.maxDelayMs >= options.minDelayMs)) {
      throw new RangeError(`backoff needs 0 <= minDelayMs <= maxDelayMs (got ${options.minDelayMs}, ${options.maxDelayMs})`);
    }
    this.#minDelayMs = options.minDelayMs;
    this.#maxDelayMs = options.maxDelayMs;
    this.#random = options.random ?? Math.random;
  }

  /** How many delays were handed out since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  next(): number {
    const delay = fullJitterDelay(this.#attempt, this.#minDelayMs, this.#maxDelayMs, this.#random);
    this.#attempt += 1;
    return delay;
  }

  reset(): void {
    this.#attempt = 0;
  }
}
