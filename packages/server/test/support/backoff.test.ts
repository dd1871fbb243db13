import { describe, expect, it } from 'vitest';
import { backoffCeilingMs, fullJitterBackoffMs, type BackoffPolicy } from '../../src/support/backoff.js';

const policy: BackoffPolicy = { baseMs: 100, factor: 2, capMs: 5_000 };

describe('backoffCeilingMs', () => {
  it.each([
    { attempt: 0, ceiling: 100 },
    { attempt: 1, ceiling: 200 },
    { attempt: 2, ceiling: 400 },
    { attempt: 5, ceiling: 3_200 },
    { attempt: 6, ceiling: 5_000 }, // 6,400 capped
    { attempt: 10_000, ceiling: 5_000 }, // factor^attempt is Infinity: still the cap
  ])('attempt $attempt → $ceiling ms', ({ attempt, ceiling }) => {
    expect(backoffCeilingMs(attempt, policy)).toBe(ceiling);
  });

  it('grows by any factor ≥ 1', () => {
    expect(backoffCeilingMs(3, { baseMs: 10, factor: 3, capMs: 1_000 })).toBe(270);
    expect(backoffCeilingMs(50, { baseMs: 10, factor: 1, capMs: 1_000 })).toBe(10);
  });

  it('is 0 with a zero base, never NaN', () => {
    expect(backoffCeilingMs(5_000, { baseMs: 0, factor: 2, capMs: 0 })).toBe(0);
  });

  it.each([
    { bad: { ...policy, baseMs: -1 } },
    { bad: { ...policy, baseMs: Number.NaN } },
    { bad: { ...policy, factor: 0.5 } },
    { bad: { ...policy, factor: Number.POSITIVE_INFINITY } },
    { bad: { ...policy, capMs: 50 } },
  ])('refuses a bad policy %#', ({ bad }) => {
    expect(() => backoffCeilingMs(0, bad)).toThrow(RangeError);
  });

  it.each([-1, 1.5, Number.NaN])('refuses attempt %s', (attempt) => {
    expect(() => backoffCeilingMs(attempt, policy)).toThrow(RangeError);
  });
});

describe('fullJitterBackoffMs', () => {
  it('scales the ceiling by the random draw: 0 at the bottom, just under the ceiling at the top', () => {
    expect(fullJitterBackoffMs(2, policy, () => 0)).toBe(0);
    expect(fullJitterBackoffMs(2, policy, () => 0.5)).toBe(200);
    expect(fullJitterBackoffMs(2, policy, () => 0.999_999)).toBeLessThan(400);
    expect(fullJitterBackoffMs(9, policy, () => 0.5)).toBe(2_500);
  });

  it('stays within [0, ceiling) with the real random source, and spreads over the window', () => {
    const draws = Array.from({ length: 2_000 }, () => fullJitterBackoffMs(3, policy));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(800);
    // Full jitter, not "half" or "equal" jitter: both ends of the window get used.
    expect(draws.some((d) => d < 80)).toBe(true);
    expect(draws.some((d) => d > 720)).toBe(true);
  });

  it('refuses a random source outside [0, 1)', () => {
    expect(() => fullJitterBackoffMs(0, policy, () => 1)).toThrow(RangeError);
    expect(() => fullJitterBackoffMs(0, policy, () => -0.1)).toThrow(RangeError);
  });
});
