import { describe, expect, it } from 'vitest';
import { randomToken } from '../../src/support/random-token.js';

describe('randomToken', () => {
  it('hands out base64url tokens of the requested size, never the same bytes twice, across pool refills', () => {
    const seen = new Set<string>();
    // 12 bytes × 2,000 = 24,000 bytes: several refills of the 4 KiB pool.
    for (let i = 0; i < 2000; i++) {
      const token = randomToken(12);
      expect(token).toMatch(/^[A-Za-z0-9_-]{16}$/);
      seen.add(token);
    }
    expect(seen.size).toBe(2000);
    expect(randomToken(6)).toMatch(/^[A-Za-z0-9_-]{8}$/);
  });

  it('refuses more than the pool holds', () => {
    expect(() => randomToken(5000)).toThrow(RangeError);
  });
});
