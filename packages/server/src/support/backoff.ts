/**
 * The one capped exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS
 * Architecture Blog): before retry number `attempt` (0-based) wait a delay drawn uniformly from
 * [0, min(cap, base · factor^attempt)). Full jitter spreads a crowd that failed together (nodes
 * losing the same Redis, subscriptions waiting for the same ack) over the whole window, so they
 * do not come back in waves; the cap keeps the worst wait bounded.
 *
 * Every retry loop on the server uses this (RetryManager redeliveries, background writes, audit
 * spooling); measure the wait on the monotonic clock.
 */
export interface BackoffPolicy {
  /** Ceiling of the first delay (attempt 0), ms. */
  readonly baseMs: number;
  /** Growth of the ceiling per attempt; 2 doubles it. At least 1. */
  readonly factor: number;
  /** The ceiling never grows past this, ms. */
  readonly capMs: number;
}

/** Uniform in [0, 1), like `Math.random`; injectable so tests can pin the jitter. */
export type RandomSource = () => number;

/** The ceiling of the delay before retry `attempt`: min(cap, base · factor^attempt). */
export function backoffCeilingMs(attempt: number, policy: BackoffPolicy): number {
  checkPolicy(policy);
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError(`attempt must be an integer >= 0 (got ${attempt})`);
  // factor^attempt reaches Infinity for large attempts; min() keeps the cap. A zero base would
  // make 0 · Infinity = NaN, so it is answered first.
  if (policy.baseMs === 0) return 0;
  return Math.min(policy.capMs, policy.baseMs * policy.factor ** attempt);
}

/** A full-jitter delay before retry `attempt`: uniform in [0, ceiling). */
export function fullJitterBackoffMs(attempt: number, policy: BackoffPolicy, random: RandomSource = Math.random): number {
  const r = random();
  if (!(r >= 0 && r < 1)) throw new RangeError(`random source must return a number in [0, 1) (got ${r})`);
  return r * backoffCeilingMs(attempt, policy);
}

function checkPolicy(policy: BackoffPolicy): void {
  const { baseMs, factor, capMs } = policy;
  if (!(Number.isFinite(baseMs) && baseMs >= 0)) throw new RangeError(`baseMs must be a finite number >= 0 (got ${baseMs})`);
  if (!(Number.isFinite(factor) && factor >= 1)) throw new RangeError(`factor must be a finite number >= 1 (got ${factor})`);
  if (!(Number.isFinite(capMs) && capMs >= baseMs)) throw new RangeError(`capMs must be finite and >= baseMs (got ${capMs})`);
}
