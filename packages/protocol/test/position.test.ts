import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { streamPositionSchema } from '@apix/protocol';

describe('streamPositionSchema', () => {
  it('accepts any safe non-negative integer offset with a well-formed epoch', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), (offset, epoch) => {
        expect(streamPositionSchema.parse({ offset, epoch })).toEqual({ offset, epoch });
      }),
    );
  });

  it('refuses any offset that is not a safe non-negative integer', () => {
    const bad = fc.oneof(
      fc.integer({ max: -1 }),
      fc.double({ noInteger: true }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, 1e300),
    );
    fc.assert(
      fc.property(bad, (offset) => {
        expect(streamPositionSchema.safeParse({ offset, epoch: 'e' }).success).toBe(false);
      }),
    );
  });

  it.each([
    ['string offset', { offset: '1', epoch: 'e' }],
    ['bigint-like string', { offset: '9007199254740993', epoch: 'e' }],
    ['Redis stream id as offset', { offset: '1700000000000-0', epoch: 'e' }],
    ['null offset', { offset: null, epoch: 'e' }],
    ['empty epoch', { offset: 1, epoch: '' }],
    ['epoch with a dot', { offset: 1, epoch: 'e.1' }],
    ['epoch with a slash', { offset: 1, epoch: 'e/1' }],
    ['65-character epoch', { offset: 1, epoch: 'e'.repeat(65) }],
    ['extra key', { offset: 1, epoch: 'e', channel: 'org' }],
    ['array', [1, 'e']],
  ])('refuses %s', (_label, value) => {
    expect(streamPositionSchema.safeParse(value).success).toBe(false);
  });
});
