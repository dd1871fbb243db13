import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateLimiterStore } from '../../src/limits/rate-limiter.js';

/** Polls `condition` until it holds (generous deadline: no timing flakes on a loaded machine). */
async function eventually(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * One contract for every RateLimiterStore (colyseus-style): memory and Redis must behave the
 * same. `open` returns a fresh store; tests use unique key names so runs never collide.
 */
export function rateLimiterStoreContract(kind: string, open: () => Promise<RateLimiterStore>): void {
  describe(`RateLimiterStore contract: ${kind}`, () => {
    let store: RateLimiterStore;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(() => store.close());
    const key = () => `k-${randomUUID()}`;

    it('allows `points` per window, then refuses with a retry delay within the window', async () => {
      const limiter = store.limiter('contract-basic', { points: 3, durationSeconds: 10 });
      const k = key();
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await limiter.consume(k));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
      expect(decisions[0]!.remaining).toBe(2);
      expect(decisions[3]!.retryAfterMs).toBeGreaterThan(0);
      expect(decisions[3]!.retryAfterMs).toBeLessThanOrEqual(10_000);
    });

    it('counts keys independently', async () => {
      const limiter = store.limiter('contract-keys', { points: 1, durationSeconds: 10 });
      const [a, b] = [key(), key()];
      expect((await limiter.consume(a)).allowed).toBe(true);
      expect((await limiter.consume(a)).allowed).toBe(false);
      expect((await limiter.consume(b)).allowed).toBe(true);
    });

    it('spends weighted points (bytes), and refuses a cost larger than the whole budget', async () => {
      const limiter = store.limiter('contract-weighted', { points: 1_000, durationSeconds: 10 });
      const k = key();
      expect(await limiter.consume(k, 600)).toMatchObject({ allowed: true, remaining: 400 });
      expect((await limiter.consume(k, 600)).allowed).toBe(false);
      expect((await limiter.consume(key(), 1_001)).allowed).toBe(false);
    });

    it('opens a new window after the duration', async () => {
      const limiter = store.limiter('contract-window', { points: 1, durationSeconds: 1 });
      const k = key();
      expect((await limiter.consume(k)).allowed).toBe(true);
      expect((await limiter.consume(k)).allowed).toBe(false);
      await eventually(async () => (await limiter.consume(k)).allowed);
    });

    it('forgets a key on reset', async () => {
      const limiter = store.limiter('contract-reset', { points: 1, durationSeconds: 60 });
      const k = key();
      await limiter.consume(k);
      expect((await limiter.consume(k)).allowed).toBe(false);
      await limiter.reset(k);
      expect((await limiter.consume(k)).allowed).toBe(true);
    });

    it('returns the same counters for the same name and rule, separate ones for another rule', async () => {
      const k = key();
      await store.limiter('contract-shared', { points: 2, durationSeconds: 60 }).consume(k);
      await store.limiter('contract-shared', { points: 2, durationSeconds: 60 }).consume(k);
      expect((await store.limiter('contract-shared', { points: 2, durationSeconds: 60 }).consume(k)).allowed).toBe(false);
      expect((await store.limiter('contract-shared', { points: 5, durationSeconds: 60 }).consume(k)).allowed).toBe(true);
    });

    it('answers many concurrent consumes exactly: no more than `points` allowed', async () => {
      const limiter = store.limiter('contract-concurrent', { points: 50, durationSeconds: 30 });
      const k = key();
      const decisions = await Promise.all(Array.from({ length: 200 }, () => limiter.consume(k)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(50);
    });
  });
}
