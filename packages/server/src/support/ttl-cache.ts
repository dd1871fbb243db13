/**
 * A small read-through cache with a time-to-live. Concurrent misses for one key share one
 * load, so a burst of frames after expiry costs one query, not one per frame. A failed load
 * is not cached.
 */
export class TtlCache<K, V> {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<K, { value: Promise<V>; expiresAt: number }>();

  constructor(ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get(key: K, load: (key: K) => Promise<V>): Promise<V> {
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt > now) return entry.value;
    const value = load(key);
    this.#entries.set(key, { value, expiresAt: now + this.#ttlMs });
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    return value;
  }

  /** Drops every entry whose key matches (all of them without a predicate). */
  invalidate(matches?: (key: K) => boolean): void {
    if (!matches) return this.#entries.clear();
    for (const key of this.#entries.keys()) if (matches(key)) this.#entries.delete(key);
  }

  /** Drops expired entries, so keys that are never asked again don't stay forever. */
  prune(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }
}
