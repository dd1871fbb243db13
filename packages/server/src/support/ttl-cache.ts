import { LRUCache } from 'lru-cache';

/**
 * Entries a cache holds at most, unless told otherwise. Every cache of this kind is keyed by
 * something a client chose (an API-key id, an organisation, a channel name, made up or not),
 * so without a bound a stream of made-up keys would grow it without end (issue 7, finding 4).
 * At the bound the least recently used entry goes; a legitimate key that is evicted costs one
 * more lookup.
 */
export const DEFAULT_CACHE_MAX_ENTRIES = 10_000;

export interface TtlCacheOptions {
  /** Entry cap (LRU eviction past it). */
  readonly maxEntries?: number;
  /** Clock for expiry; monotonic by default. */
  readonly now?: () => number;
}

interface Entry<V> {
  readonly value: Promise<V>;
  readonly expiresAt: number;
}

/**
 * A small read-through cache with a time-to-live and a size cap (LRU). Concurrent misses for
 * one key share one load, so a burst of frames after expiry costs one query, not one per
 * frame. A failed load is not cached.
 */
export class TtlCache<K extends {}, V> {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries: LRUCache<K, Entry<V>>;

  constructor(ttlMs: number, options: TtlCacheOptions = {}) {
    this.#ttlMs = ttlMs;
    this.#now = options.now ?? (() => performance.now());
    this.#entries = new LRUCache<K, Entry<V>>({ max: options.maxEntries ?? DEFAULT_CACHE_MAX_ENTRIES });
  }

  /** Entries held now (expired ones included until evicted or pruned). */
  get size(): number {
    return this.#entries.size;
  }

  get(key: K, load: (key: K) => Promise<V>): Promise<V> {
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt > now) return entry.value;
    const value = load(key);
    this.#entries.set(key, { value, expiresAt: now + this.#ttlMs });
    value.catch(() => {
      if (this.#entries.peek(key)?.value === value) this.#entries.delete(key);
    });
    return value;
  }

  /** Drops every entry whose key matches (all of them without a predicate). */
  invalidate(matches?: (key: K) => boolean): void {
    if (!matches) return this.#entries.clear();
    for (const key of [...this.#entries.keys()]) if (matches(key)) this.#entries.delete(key);
  }

  /** Drops expired entries. */
  prune(): void {
    const now = this.#now();
    for (const [key, entry] of [...this.#entries.entries()]) if (entry.expiresAt <= now) this.#entries.delete(key);
  }
}
