/** Refusals are counted over this window: a connection refused `threshold` times within it is a flooder. */
export const FLOOD_WINDOW_MS = 10_000;

interface Strikes {
  count: number;
  windowStartedAt: number;
}

/**
 * Tells a connection that keeps exceeding its rate limit (a flooder, to be closed with 4005)
 * from one that overshot once (answered APIX_ERR_RATE_LIMITED and kept). State lives in a
 * WeakMap keyed by the connection object, so it goes away with the connection and nothing
 * is swept. Monotonic clock.
 */
export class FloodDetector {
  readonly #threshold: number;
  readonly #now: () => number;
  readonly #strikes = new WeakMap<object, Strikes>();

  /** `threshold` 0: never a flooder. */
  constructor(threshold: number, now: () => number = () => performance.now()) {
    this.#threshold = threshold;
    this.#now = now;
  }

  /** Records one refused request of `connection`; true when it is now a flooder. */
  refused(connection: object): boolean {
    if (this.#threshold === 0) return false;
    const now = this.#now();
    let strikes = this.#strikes.get(connection);
    if (strikes === undefined || now - strikes.windowStartedAt >= FLOOD_WINDOW_MS) {
      strikes = { count: 0, windowStartedAt: now };
      this.#strikes.set(connection, strikes);
    }
    return ++strikes.count >= this.#threshold;
  }
}
