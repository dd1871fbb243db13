import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff, backoffCeiling, fullJitterDelay } from '../src/backoff.js';

describe('fullJitterDelay', () => {
  it('stays in [0, min(max, base·2^attempt)) for any attempt and random draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, base, extra, draw) => {
          const max = base + extra;
          const delay = fullJitterDelay(attempt, base, max, () => draw);
          const ceiling = Math.min(max, base * 2 ** attempt);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(ceiling);
          expect(Number.isFinite(delay)).toBe(true);
        },
      ),
    );
  });

  it('uses the whole window: 0 at the bottom draw, just under the ceiling at the top', () => {
    expect(fullJitterDelay(3, 500, 20_000, () => 0)).toBe(0);
    expect(fullJitterDelay(3, 500, 20_000, () => 0.999_999)).toBe(3999);
  });

  it('doubles the ceiling per attempt until the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffCeiling(a, 500, 20_000))).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 20_000]);
    expect(backoffCeiling(5000, 500, 20_000)).toBe(20_000);
  });
});

describe('Backoff', () => {
  it('grows with each attempt, is capped, and starts over after reset', () => {
    const backoff = new Backoff({ minDelayMs: 100, maxDelayMs: 1000, random: () => 0.999_999 });
    const delays = Array.from({ length: 6 }, () => backoff.next());
    expect(delays).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoff.attempt).toBe(6);
    backoff.reset();
    expect(backoff.attempt).toBe(0);
    expect(backoff.next()).toBe(99);
  });

  it('draws fresh jitter each time (no two clients in lock-step)', () => {
    const draws = [0.1, 0.9];
    const backoff = new Backoff({ minDelayMs: 1000, maxDelayMs: 1000, random: () => draws.shift() ?? 0 });
    expect([backoff.next(), backoff.next()]).toEqual([100, 900]);
  });

  it('refuses a cap below the base', () => {
    expect(() => new Backoff({ minDelayMs: 10, maxDelayMs: 5 })).toThrow(RangeError);
  });
});
