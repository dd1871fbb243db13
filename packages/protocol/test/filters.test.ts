import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesFilters, subscribeFrameSchema, subscriptionFiltersSchema, type SubscriptionFilters } from '@apix/protocol';

const event = {
  type: 'tool_call_error',
  payload: { toolCallId: 'tc1', agentId: 'a-1', attempt: 2, final: false, note: null, error: { code: 'TIMEOUT', detail: { host: 'h1' } } },
  metadata: { timestamp: 1_763_800_000_000, version: '1', correlation_id: 'c-9', region: 'eu' },
};

/** Filters as a client sends them: through the schema first, as the server does. */
function f(filters: unknown): SubscriptionFilters {
  return subscriptionFiltersSchema.parse(filters);
}

describe('subscriptionFiltersSchema', () => {
  it('accepts the documented example', () => {
    const filters = {
      types: ['tool_call_start', 'tool_call_error'],
      payload: { agentId: 'a-1', 'error.code': 'TIMEOUT' },
      metadata: { correlation_id: 'c-9' },
    };
    expect(subscriptionFiltersSchema.parse(filters)).toEqual(filters);
  });

  it('accepts an empty filter object and scalar values of every kind', () => {
    expect(subscriptionFiltersSchema.safeParse({}).success).toBe(true);
    expect(subscriptionFiltersSchema.safeParse({ payload: { a: 'x', b: 1, c: true, d: null } }).success).toBe(true);
  });

  it('accepts paths of 8 segments and refuses 9', () => {
    expect(subscriptionFiltersSchema.safeParse({ payload: { 'a.b.c.d.e.f.g.h': 1 } }).success).toBe(true);
    expect(subscriptionFiltersSchema.safeParse({ payload: { 'a.b.c.d.e.f.g.h.i': 1 } }).success).toBe(false);
  });

  it('accepts 16 conditions and refuses 17', () => {
    const n = (k: number) => Object.fromEntries(Array.from({ length: k }, (_, i) => [`f${i}`, i]));
    expect(subscriptionFiltersSchema.safeParse({ payload: n(16) }).success).toBe(true);
    expect(subscriptionFiltersSchema.safeParse({ payload: n(17) }).success).toBe(false);
    expect(subscriptionFiltersSchema.safeParse({ metadata: n(17) }).success).toBe(false);
  });

  it.each([
    ['unknown key', { channel: 'agent:a1' }],
    ['empty types', { types: [] }],
    ['empty type name', { types: [''] }],
    ['types as a string', { types: 'tool_call_start' }],
    ['33 types', { types: Array.from({ length: 33 }, (_, i) => `t${i}`) }],
    ['path with an empty segment', { payload: { 'a..b': 1 } }],
    ['path with a leading dot', { payload: { '.a': 1 } }],
    ['path with a trailing dot', { payload: { 'a.': 1 } }],
    ['path with a space', { payload: { 'a b': 1 } }],
    ['path with a bracket', { payload: { 'items[0]': 1 } }],
    ['path with a 65-character segment', { payload: { ['a'.repeat(65)]: 1 } }],
    ['empty path', { payload: { '': 1 } }],
    ['object value', { payload: { a: { b: 1 } } }],
    ['array value', { payload: { a: [1] } }],
    ['operator object', { payload: { a: { $gt: 1 } } }],
    ['over-long string value', { metadata: { a: 'x'.repeat(1001) } }],
    ['payload conditions as an array', { payload: [] }],
  ])('refuses %s', (_label, filters) => {
    expect(subscriptionFiltersSchema.safeParse(filters).success).toBe(false);
  });

  it('refuses a __proto__ path instead of silently dropping the condition', () => {
    // JSON.parse creates an own "__proto__" key; a record that dropped it would widen the filter.
    const filters = JSON.parse('{"payload":{"__proto__":"x","agentId":"a-1"}}');
    expect(subscriptionFiltersSchema.safeParse(filters).success).toBe(false);
    expect(subscriptionFiltersSchema.safeParse(JSON.parse('{"metadata":{"__proto__":1}}')).success).toBe(false);
  });

  it('is checked as part of the subscribe frame', () => {
    const frame = { type: 'subscribe', id: 's1', channels: ['org'], filters: { payload: { 'a..b': 1 } } };
    expect(subscribeFrameSchema.safeParse(frame).success).toBe(false);
  });
});

describe('matchesFilters', () => {
  it('an absent filter matches everything', () => {
    expect(matchesFilters(undefined, event)).toBe(true);
    expect(matchesFilters(f({}), event)).toBe(true);
    expect(matchesFilters(undefined, { type: 'x' })).toBe(true);
  });

  describe('types', () => {
    it('matches when the type is listed', () => {
      expect(matchesFilters(f({ types: ['tool_call_error'] }), event)).toBe(true);
      expect(matchesFilters(f({ types: ['tool_call_start', 'tool_call_error'] }), event)).toBe(true);
    });
    it('does not match an unlisted type, a prefix, or another case', () => {
      expect(matchesFilters(f({ types: ['tool_call_start'] }), event)).toBe(false);
      expect(matchesFilters(f({ types: ['tool_call'] }), event)).toBe(false);
      expect(matchesFilters(f({ types: ['TOOL_CALL_ERROR'] }), event)).toBe(false);
    });
  });

  describe('payload paths', () => {
    it('matches a top-level field', () => {
      expect(matchesFilters(f({ payload: { agentId: 'a-1' } }), event)).toBe(true);
      expect(matchesFilters(f({ payload: { agentId: 'a-2' } }), event)).toBe(false);
    });
    it('follows dotted paths into nested objects', () => {
      expect(matchesFilters(f({ payload: { 'error.code': 'TIMEOUT' } }), event)).toBe(true);
      expect(matchesFilters(f({ payload: { 'error.detail.host': 'h1' } }), event)).toBe(true);
      expect(matchesFilters(f({ payload: { 'error.code': 'OTHER' } }), event)).toBe(false);
      expect(matchesFilters(f({ payload: { 'error.missing.deeper': 'x' } }), event)).toBe(false);
    });
    it('compares with strict equality: no type coercion', () => {
      expect(matchesFilters(f({ payload: { attempt: 2 } }), event)).toBe(true);
      expect(matchesFilters(f({ payload: { attempt: '2' } }), event)).toBe(false);
      expect(matchesFilters(f({ payload: { final: false } }), event)).toBe(true);
      expect(matchesFilters(f({ payload: { final: 0 } }), event)).toBe(false);
    });
    it('null matches a null field but not a missing one', () => {
      expect(matchesFilters(f({ payload: { note: null } }), event)).toBe(true);
      expect(matchesFilters(f({ payload: { absent: null } }), event)).toBe(false);
    });
    it('a path to an object is not equal to any scalar', () => {
      expect(matchesFilters(f({ payload: { error: 'TIMEOUT' } }), event)).toBe(false);
    });
    it('does not read inherited properties', () => {
      expect(matchesFilters(f({ payload: { 'agentId.length': 3 } }), event)).toBe(false);
      expect(matchesFilters(f({ payload: { 'constructor.name': 'Object' } }), event)).toBe(false);
      expect(matchesFilters(f({ payload: { toString: 'x' } }), event)).toBe(false);
      // Object.prototype.__proto__ is null: reading inherited keys would make this match
      expect(matchesFilters(f({ payload: { '__proto__.__proto__': null } }), event)).toBe(false);
      expect(matchesFilters(f({ metadata: { '__proto__.__proto__': null } }), event)).toBe(false);
    });
    it('follows numeric segments into arrays', () => {
      const withItems = { type: 'x', payload: { items: [{ sku: 'a' }, { sku: 'b' }] } };
      expect(matchesFilters(f({ payload: { 'items.1.sku': 'b' } }), withItems)).toBe(true);
      expect(matchesFilters(f({ payload: { 'items.2.sku': 'b' } }), withItems)).toBe(false);
    });
  });

  describe('non-object payloads', () => {
    it.each([
      ['a string', 'hello'],
      ['a number', 5],
      ['null', null],
      ['missing', undefined],
      ['an array', ['a']],
    ])('a payload condition never matches %s', (_label, payload) => {
      expect(matchesFilters(f({ payload: { length: 5 } }), { type: 'x', payload })).toBe(false);
      expect(matchesFilters(f({ payload: { a: null } }), { type: 'x', payload })).toBe(false);
    });
    it('without payload conditions they still match on type', () => {
      expect(matchesFilters(f({ types: ['x'] }), { type: 'x', payload: 'hello' })).toBe(true);
      expect(matchesFilters(f({ metadata: { region: 'eu' } }), { type: 'x', payload: 7, metadata: { region: 'eu' } })).toBe(true);
    });
  });

  describe('metadata', () => {
    it('matches metadata fields, including correlation_id', () => {
      expect(matchesFilters(f({ metadata: { correlation_id: 'c-9' } }), event)).toBe(true);
      expect(matchesFilters(f({ metadata: { region: 'eu', version: '1' } }), event)).toBe(true);
      expect(matchesFilters(f({ metadata: { region: 'us' } }), event)).toBe(false);
    });
    it('does not look for metadata conditions in the payload or the other way round', () => {
      expect(matchesFilters(f({ metadata: { agentId: 'a-1' } }), event)).toBe(false);
      expect(matchesFilters(f({ payload: { correlation_id: 'c-9' } }), event)).toBe(false);
    });
    it('never matches an event without metadata', () => {
      expect(matchesFilters(f({ metadata: { region: 'eu' } }), { type: 'x', payload: {} })).toBe(false);
    });
  });

  describe('AND semantics', () => {
    const all = { types: ['tool_call_error'], payload: { agentId: 'a-1', 'error.code': 'TIMEOUT' }, metadata: { region: 'eu' } };
    it('matches when every condition holds', () => {
      expect(matchesFilters(f(all), event)).toBe(true);
    });
    it.each([
      ['type', { ...all, types: ['tool_call_start'] }],
      ['one payload condition of two', { ...all, payload: { agentId: 'a-1', 'error.code': 'OTHER' } }],
      ['metadata', { ...all, metadata: { region: 'us' } }],
    ])('fails when only the %s condition fails', (_label, filters) => {
      expect(matchesFilters(f(filters), event)).toBe(false);
    });

    it('property: a filter matches iff each of its parts matches alone', () => {
      const typeArb = fc.constantFrom('tool_call_error', 'tool_call_start', 'x');
      const payloadArb = fc.dictionary(fc.constantFrom('agentId', 'attempt', 'error.code', 'note', 'missing'), fc.constantFrom<string | number | null>('a-1', 2, 'TIMEOUT', null, 'zzz'), { maxKeys: 3 });
      const metaArb = fc.dictionary(fc.constantFrom('region', 'correlation_id', 'version'), fc.constantFrom<string | number>('eu', 'c-9', '1', 'us'), { maxKeys: 2 });
      fc.assert(
        fc.property(fc.option(fc.array(typeArb, { minLength: 1, maxLength: 2 }), { nil: undefined }), payloadArb, metaArb, (types, payload, metadata) => {
          const parts: SubscriptionFilters[] = [
            ...(types ? [{ types }] : []),
            ...Object.entries(payload).map(([k, v]) => ({ payload: { [k]: v } })),
            ...Object.entries(metadata).map(([k, v]) => ({ metadata: { [k]: v } })),
          ];
          const combined = f({ ...(types ? { types } : {}), payload, metadata });
          expect(matchesFilters(combined, event)).toBe(parts.every((p) => matchesFilters(f(p), event)));
        }),
      );
    });
  });
});
