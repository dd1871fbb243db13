import { describe, expect, it } from 'vitest';
import { LoadTimeoutError, RefreshingCache } from '../../src/support/refreshing-cache.js';

/** A clock the test moves; the loads are real async functions that count their calls. */
function setup(overrides: Partial<ConstructorParameters<typeof RefreshingCache<string | undefined>>[0]> = {}) {
  let now = 0;
  const changed: string[] = [];
  const cache = new RefreshingCache<string | undefined>({
    maxEntries: 3,
    refreshAfterMs: 1_000,
    maxStaleMs: 10_000,
    loadTimeoutMs: 200,
    now: () => now,
    onChanged: (key) => changed.push(key),
    ...overrides,
  });
  return { cache, changed, advance: (ms: number) => (now += ms) };
}
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('RefreshingCache', () => {
  it('loads a key once for concurrent misses, and caches negative answers too', async () => {
    const { cache } = setup();
    let loads = 0;
    const load = async () => (loads++, undefined);
    await Promise.all([cache.get('ghost', load), cache.get('ghost', load), cache.get('ghost', load)]);
    expect(await cache.get('ghost', load)).toBeUndefined();
    expect(loads).toBe(1);
  });

  it('is bounded: client-chosen keys cannot grow it past maxEntries', async () => {
    const { cache } = setup();
    for (let i = 0; i < 100; i++) await cache.get(`made-up-${i}`, async () => undefined);
    expect(cache.size).toBe(3);
  });

  it('answers an aged entry at once and refreshes it in the background; a changed answer is reported', async () => {
    const { cache, changed, advance } = setup();
    let value = 'a';
    const load = async () => value;
    expect(await cache.get('k', load)).toBe('a');
    value = 'b';
    advance(1_500);
    expect(cache.get('k', load)).toBe('a'); // synchronous: nobody waits on the reload
    await settle();
    expect(cache.get('k', load)).toBe('b');
    expect(changed).toEqual(['k']);
  });

  it('keeps the last known answer while reloads fail, until maxStaleMs; then a get has to load (and fails)', async () => {
    const { cache, advance } = setup();
    let up = true;
    const load = async () => {
      if (!up) throw new Error('storage down');
      return 'roles';
    };
    await cache.get('k', load);
    up = false;
    advance(5_000);
    expect(cache.get('k', load)).toBe('roles');
    await settle();
    await expect(cache.reload('k', load)).rejects.toThrow('storage down');
    expect(cache.peek('k')).toBe('roles');
    advance(6_000); // now older than maxStaleMs
    expect(cache.get('k', load)).toBe('roles');
    await settle();
    expect(cache.peek('k')).toBeUndefined();
    await expect(cache.get('k', load)).rejects.toThrow('storage down');
  });

  it('markStale keeps values but refreshes them on next use', async () => {
    const { cache } = setup();
    let loads = 0;
    const load = async () => `v${++loads}`;
    await cache.get('k', load);
    cache.markStale();
    expect(cache.get('k', load)).toBe('v1');
    await settle();
    expect(cache.get('k', load)).toBe('v2');
  });

  it('fails a load that storage does not answer within loadTimeoutMs', async () => {
    const { cache } = setup();
    const startedAt = performance.now();
    await expect(cache.get('k', () => new Promise(() => undefined))).rejects.toBeInstanceOf(LoadTimeoutError);
    expect(performance.now() - startedAt).toBeLessThan(2_000);
  });
});
