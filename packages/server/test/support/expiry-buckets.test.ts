import { describe, expect, it } from 'vitest';
import { ExpiryBuckets } from '../../src/support/expiry-buckets.js';

describe('ExpiryBuckets', () => {
  const item = (name: string) => ({ name });

  it('returns an item only once it has expired, and only once', () => {
    const t0 = 1_000_000_000_000;
    const buckets = new ExpiryBuckets<{ name: string }>(t0);
    const a = item('a');
    const b = item('b');
    buckets.set(a, t0 + 1_500);
    buckets.set(b, t0 + 5_000);
    expect(buckets.takeDue(t0 + 1_400)).toEqual([]);
    expect(buckets.takeDue(t0 + 2_000)).toEqual([a]);
    expect(buckets.takeDue(t0 + 2_500)).toEqual([]);
    expect(buckets.takeDue(t0 + 10_000)).toEqual([b]);
    expect(buckets.size).toBe(0);
  });

  it('moves an item when its expiry changes, forgets it when deleted, never files an infinite expiry', () => {
    const t0 = 2_000_000_000_000;
    const buckets = new ExpiryBuckets<{ name: string }>(t0);
    const a = item('a');
    const b = item('b');
    const c = item('c');
    buckets.set(a, t0 + 1_000);
    buckets.set(a, t0 + 60_000);
    buckets.set(b, t0 + 1_000);
    buckets.delete(b);
    buckets.set(c, Number.POSITIVE_INFINITY);
    expect(buckets.takeDue(t0 + 30_000)).toEqual([]);
    expect(buckets.takeDue(t0 + 60_000)).toEqual([a]);
    expect(buckets.size).toBe(0);
  });

  it('returns an item filed already expired at the next second', () => {
    const t0 = 3_000_000_000_000;
    const buckets = new ExpiryBuckets<{ name: string }>(t0);
    buckets.takeDue(t0 + 5_000);
    const late = item('late');
    buckets.set(late, t0 + 1_000);
    expect(buckets.takeDue(t0 + 6_000)).toEqual([late]);
  });
});
