import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/realtime/token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then the rate, and says when the next token comes', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now); // 10/s, burst 3
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
    expect(bucket.msUntilNextToken()).toBe(100);
    now += 100;
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    now += 10_000; // a long idle refills to the burst, not beyond
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
  });
});
