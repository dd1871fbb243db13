/**
 * Rate limits that hold across the cluster: one interface, one implementation per store
 * (memory for one process, Redis when `REDIS_URL` is set), one contract test suite
 * (test/limits/rate-limiter-contract.ts). Fixed windows of `durationSeconds`: a key may spend
 * `points` per window.
 */
export interface RateLimitRule {
  /** Points a key may spend per window (requests, bytes…). Positive integer. */
  readonly points: number;
  /** Window length, whole seconds. */
  readonly durationSeconds: number;
}

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Points left in the current window (0 when refused). */
  readonly remaining: number;
  /** When refused: how long until the window has room again. 0 when allowed. */
  readonly retryAfterMs: number;
}

export interface RateLimiter {
  /** Spends `points` (default 1, whole) of `key`'s budget; refused spends count too (flooders stay refused). */
  consume(key: string, points?: number): Promise<RateLimitDecision>;
  /** Forgets `key`'s spending (tests, admin actions). */
  reset(key: string): Promise<void>;
}

/** Where counters live. Limiters are cached by name and rule, so asking twice returns the same counters. */
export interface RateLimiterStore {
  readonly kind: 'memory' | 'redis';
  limiter(name: string, rule: RateLimitRule): RateLimiter;
  /** Resolves when the store can count (a remote store is connected); rejects after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}
