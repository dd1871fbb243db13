import { LRUCache } from 'lru-cache';
import { monotonicNow } from './monotonic-clock.js';

export interface RefreshingCacheOptions<V> {
  /** Entries held at most; the least recently used goes first. Keys may be client-chosen, so this is never unbounded. */
  readonly maxEntries: number;
  /**
   * An entry older than this is still answered at once, and reloaded in the background
   * (stale-while-revalidate). It is the safety net for changes that arrive without a change
   * event; change events (`invalidate`, `reload`) are the normal way an entry changes.
   */
  readonly refreshAfterMs: number;
  /**
   * While reloads fail (storage unavailable), the last known value keeps being answered until
   * it is this old; then it is dropped and the next `get` has to load (and fails fast).
   */
  readonly maxStaleMs: number;
  /** A load that takes longer than this fails: the data plane must not wait on a stalled database. */
  readonly loadTimeoutMs: number;
  /** Called when a reload finds a value that differs from the cached one. */
  readonly onChanged?: (key: string, value: V, previous: V) => void;
  /** Value equality for `onChanged`; JSON equality by default. */
  readonly equals?: (a: V, b: V) => boolean;
  readonly now?: () => number;
}

interface Entry<V> {
  value: V;
  loadedAt: number;
  /** Set by `markStale`: refresh on the next use, whatever the age. */
  refreshDue: boolean;
}

/** Boxed because lru-cache cannot hold `undefined`, and "no such row" is an answer worth caching. */
type Box<V> = { readonly entry: Entry<V> };

export class LoadTimeoutError extends Error {
  override name = 'LoadTimeoutError';
}

/**
 * A bounded read-through cache for the permission inputs the data plane needs (memberships,
 * API keys, channel rows). Negative answers are cached like positive ones. Concurrent misses
 * for one key share one load. What it promises the data plane:
 * - a cached key is answered from memory, always — a reload never makes a caller wait;
 * - a storage outage never turns a known answer into an error before `maxStaleMs`;
 * - a first-time lookup waits at most `loadTimeoutMs`.
 */
export class RefreshingCache<V> {
  readonly #entries: LRUCache<string, Box<V>>;
  readonly #loading = new Map<string, Promise<V>>();
  readonly #options: RefreshingCacheOptions<V>;
  readonly #now: () => number;
  readonly #equals: (a: V, b: V) => boolean;

  constructor(options: RefreshingCacheOptions<V>) {
    this.#options = options;
    // Bounded by count through `maxSize` (each entry sizes 1) rather than `max`: with `max`,
    // lru-cache preallocates its index arrays for the full capacity up front, ~2 MB per cache
    // at the 100,000 default and a dozen MB of idle RSS across the server's caches. The bound
    // and the LRU eviction are the same.
    this.#entries = new LRUCache({ maxSize: options.maxEntries, sizeCalculation: () => 1 });
    this.#now = options.now ?? monotonicNow;
    this.#equals = options.equals ?? ((a, b) => JSON.stringify(a) === JSON.stringify(b));
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached value, or a load when there is none. `load` must be the same function for a key. */
  get(key: string, load: (key: string) => Promise<V>): V | Promise<V> {
    const box = this.#entries.get(key);
    if (box === undefined) return this.#load(key, load);
    const age = this.#now() - box.entry.loadedAt;
    if (box.entry.refreshDue || age >= this.#options.refreshAfterMs) void this.#refresh(key, load, box.entry).catch(() => undefined);
    return box.entry.value;
  }

  /** The cached value without loading or refreshing it. */
  peek(key: string): V | undefined {
    return this.#entries.peek(key)?.entry.value;
  }

  /**
   * Loads the key again now (after a change event). Resolves with the new value; on failure
   * the old value stays (a storage outage never revokes) and the error is thrown.
   */
  async reload(key: string, load: (key: string) => Promise<V>): Promise<V> {
    const box = this.#entries.get(key);
    if (box === undefined) return this.#load(key, load);
    return this.#refresh(key, load, box.entry);
  }

  /**
   * Keeps the values but refreshes each on its next use (in the background, like an aged
   * entry): for "something may have changed" signals, which must not wipe what the data
   * plane knows while storage may be down.
   */
  markStale(matches?: (key: string) => boolean): void {
    for (const [key, box] of this.#entries.entries()) if (!matches || matches(key)) box.entry.refreshDue = true;
  }

  /** Drops keys (all, without a predicate); the next `get` loads them. */
  invalidate(matches?: (key: string) => boolean): void {
    if (!matches) {
      this.#entries.clear();
      return;
    }
    for (const key of [...this.#entries.keys()]) if (matches(key)) this.#entries.delete(key);
  }

  keys(): string[] {
    return [...this.#entries.keys()];
  }

  #load(key: string, load: (key: string) => Promise<V>): Promise<V> {
    const inFlight = this.#loading.get(key);
    if (inFlight) return inFlight;
    const promise = withTimeout(load(key), this.#options.loadTimeoutMs).then((value) => {
      this.#entries.set(key, { entry: { value, loadedAt: this.#now(), refreshDue: false } });
      return value;
    });
    this.#loading.set(key, promise);
    void promise.finally(() => this.#loading.delete(key)).catch(() => undefined);
    return promise;
  }

  async #refresh(key: string, load: (key: string) => Promise<V>, entry: Entry<V>): Promise<V> {
    let inFlight = this.#loading.get(key);
    if (!inFlight) {
      inFlight = withTimeout(load(key), this.#options.loadTimeoutMs);
      this.#loading.set(key, inFlight);
      void inFlight.finally(() => this.#loading.delete(key)).catch(() => undefined);
      try {
        const value = await inFlight;
        const previous = entry.value;
        const changed = !this.#equals(previous, value);
        entry.value = value;
        entry.loadedAt = this.#now();
        entry.refreshDue = false;
        // Re-insert: the key may have been evicted while the reload ran.
        this.#entries.set(key, { entry });
        if (changed) this.#options.onChanged?.(key, value, previous);
        return value;
      } catch (error) {
        if (this.#now() - entry.loadedAt > this.#options.maxStaleMs && this.#entries.peek(key)?.entry === entry) this.#entries.delete(key);
        throw error;
      }
    }
    return inFlight;
  }
}

function withTimeout<V>(promise: Promise<V>, timeoutMs: number): Promise<V> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LoadTimeoutError(`storage did not answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
