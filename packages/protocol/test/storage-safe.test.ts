import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  addMemberBodySchema,
  auditQuerySchema,
  clientFrameSchema,
  createApiKeyBodySchema,
  createChannelBodySchema,
  createOrganizationBodySchema,
  ErrorCodes,
  findUnstorable,
  httpPublishBodySchema,
  isStorable,
  listConnectionsQuerySchema,
  logAuditEventBodySchema,
  loginBodySchema,
  registerBodySchema,
  unstorableReason,
  updateOrganizationBodySchema,
} from '@apix/protocol';

/** Characters PostgreSQL cannot hold, each alone or inside other text. */
const unstorableChar = fc.constantFrom('\u0000', '\uD800', '\uDBFF', '\uDC00', '\uDFFF');
const unstorableString = fc.tuple(fc.string({ maxLength: 8 }), unstorableChar, fc.string({ maxLength: 8 })).map(([a, bad, b]) => {
  // Keep the injected surrogate unpaired whatever the neighbours are.
  const left = /[\uD800-\uDBFF]$/.test(a) ? `${a}x` : a;
  const right = /^[\uDC00-\uDFFF]/.test(b) ? `x${b}` : b;
  return `${left}${bad}${right}`;
});
/** Well-formed text without NUL: every code point except U+0000 (fc.string with full unicode). */
const storableString = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\u0000'));

describe('unstorableReason / findUnstorable', () => {
  it('names NUL and unpaired surrogates; accepts paired surrogates (emoji) and ordinary text', () => {
    expect(unstorableReason('a\u0000b')).toBe('nul');
    expect(unstorableReason('x\uD83D')).toBe('lone-surrogate');
    expect(unstorableReason('\uDE00x')).toBe('lone-surrogate');
    expect(unstorableReason('ok 😀 é \u0001')).toBeUndefined();
  });

  it('finds the offending value or key anywhere in a JSON value, with its path', () => {
    expect(findUnstorable({ a: [1, { b: 'x\u0000' }] })).toEqual({ path: ['a', 1, 'b'], reason: 'nul', inKey: false });
    expect(findUnstorable({ a: { 'k\uD800': 1 } })).toEqual({ path: ['a', 'k\uD800'], reason: 'lone-surrogate', inKey: true });
    expect(findUnstorable({ a: [1, 'two', null, true, { c: 'ok' }] })).toBeUndefined();
  });

  it('property: a JSON value is storable exactly when none of its strings or keys holds an unstorable character', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, storableString, fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
      array: fc.array(tie('value'), { maxLength: 4 }),
      object: fc.dictionary(storableString, tie('value'), { maxKeys: 4 }),
    })).value;
    fc.assert(fc.property(json, (value) => isStorable(value)));
    // Inject one unstorable string as a value or as a key at a random place: always found.
    fc.assert(
      fc.property(json, unstorableString, fc.boolean(), (value, bad, asKey) => {
        const wrapped = asKey ? { outer: [value, { [bad]: 1 }] } : { outer: [value, { k: bad }] };
        const found = findUnstorable(wrapped);
        expect(found).toBeDefined();
        expect(found!.inKey).toBe(asKey);
        // The allocation-free walk every frame runs agrees with the path-building one.
        expect(isStorable(wrapped)).toBe(false);
      }),
    );
  });
});

/**
 * Every request field that reaches storage: a valid request, and the paths of its free-text
 * fields. Each field holding an unstorable character must be refused with APIX_ERR_UNSTORABLE_VALUE.
 */
interface EdgeCase {
  readonly name: string;
  readonly schema: z.ZodType;
  readonly valid: Record<string, unknown>;
  /** Where a string can be placed; a path ending in `*key*` puts the string in a key of the object before it. */
  readonly fields: ReadonlyArray<ReadonlyArray<string | number>>;
}

const event = { type: 'custom.note', payload: { text: 'hello', nested: [{ a: 'b' }] }, metadata: { correlation_id: 'c1', app: 'web' } };
const EDGE: EdgeCase[] = [
  {
    name: 'WS publish frame',
    schema: clientFrameSchema,
    valid: { type: 'publish', id: 'r1', channel: 'agent:a1', event, idempotencyKey: 'k1' },
    fields: [['event', 'payload', 'text'], ['event', 'payload', 'nested', 0, 'a'], ['event', 'payload', '*key*'], ['event', 'metadata', 'app'], ['event', 'metadata', 'correlation_id'], ['event', 'metadata', '*key*'], ['idempotencyKey']],
  },
  {
    name: 'WS connect frame metadata',
    schema: clientFrameSchema,
    valid: { type: 'connect', id: 'r1', token: 'x.y.z', metadata: { device: 'phone' } },
    fields: [['metadata', 'device'], ['metadata', '*key*']],
  },
  {
    name: 'HTTP publish body',
    schema: httpPublishBodySchema,
    valid: { ...event, idempotencyKey: 'k1' },
    fields: [['payload', 'text'], ['payload', '*key*'], ['metadata', 'app'], ['metadata', '*key*'], ['idempotencyKey']],
  },
  {
    name: 'audit log-event body',
    schema: logAuditEventBodySchema,
    valid: { action: 'app.export', target: 'report-1', details: { reason: 'monthly', list: ['a'] } },
    fields: [['target'], ['details', 'reason'], ['details', 'list', 0], ['details', '*key*']],
  },
  { name: 'register body', schema: registerBodySchema, valid: { email: 'a@example.com', password: 'correct horse battery', name: 'Ann', organization: { id: 'org1', name: 'Org' } }, fields: [['name'], ['organization', 'name'], ['password']] },
  { name: 'login body', schema: loginBodySchema, valid: { email: 'a@example.com', password: 'pw' }, fields: [['password']] },
  { name: 'create organisation', schema: createOrganizationBodySchema, valid: { id: 'org1', name: 'Org' }, fields: [['name']] },
  { name: 'update organisation', schema: updateOrganizationBodySchema, valid: { name: 'Org' }, fields: [['name']] },
  { name: 'add member', schema: addMemberBodySchema, valid: { email: 'b@example.com', password: 'long enough pw', name: 'Bob' }, fields: [['name'], ['password']] },
  { name: 'create API key', schema: createApiKeyBodySchema, valid: { name: 'ci', scopes: ['publish'] }, fields: [['name']] },
  { name: 'create channel', schema: createChannelBodySchema, valid: { name: 'agent:a1', persistEvents: true }, fields: [] },
  { name: 'list connections query', schema: listConnectionsQuerySchema, valid: { userId: 'u1', cursor: 'c' }, fields: [['userId'], ['cursor']] },
  { name: 'audit query', schema: auditQuerySchema, valid: { actorId: 'u1', action: 'a', channel: 'agent:a1', cursor: 'c' }, fields: [['actorId'], ['action'], ['channel'], ['cursor']] },
];

/** A deep copy of `valid` with `bad` placed at `path` (as the value, or as an extra key). */
function withBadString(valid: Record<string, unknown>, path: ReadonlyArray<string | number>, bad: string): unknown {
  const copy = structuredClone(valid) as Record<string | number, unknown>;
  let node = copy;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  // Appended to the field's valid value, so its other rules (minimum length…) still hold.
  if (last === '*key*') node[bad] = 'v';
  else node[last] = `${typeof node[last] === 'string' ? node[last] : ''}${bad}`;
  return copy;
}

function refusalCode(schema: z.ZodType, input: unknown): string | undefined {
  const result = schema.safeParse(input);
  if (result.success) return undefined;
  return result.error.issues.map((i) => (i as { params?: { apixError?: string } }).params?.apixError).find((k) => k !== undefined) ?? 'other';
}

describe('every field that reaches storage refuses what storage cannot hold (APIX_ERR_UNSTORABLE_VALUE)', () => {
  it('the catalogue has the code: 400, not retryable', () => {
    expect(ErrorCodes.UNSTORABLE_VALUE).toMatchObject({ code: 'APIX_ERR_UNSTORABLE_VALUE', httpStatus: 400, retryable: false });
  });

  it.each(EDGE)('$name: the valid request passes', ({ schema, valid }) => {
    expect(schema.safeParse(valid).success).toBe(true);
  });

  it.each(EDGE.filter((c) => c.fields.length > 0))('$name: fuzz — each field with NUL or a lone surrogate is refused with the typed code', ({ schema, valid, fields }) => {
    fc.assert(
      fc.property(fc.constantFrom(...fields), unstorableString, (path, bad) => {
        const code = refusalCode(schema, withBadString(valid, path, bad));
        expect(code).toBe('UNSTORABLE_VALUE');
      }),
      { numRuns: 200 },
    );
  });

  it.each(EDGE.filter((c) => c.fields.length > 0))('$name: fuzz — the same fields with well-formed text pass', ({ schema, valid, fields }) => {
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }).filter((s) => !s.includes('\u0000') && s !== '*key*'), (path, good) => {
        const input = withBadString(valid, path, good);
        const result = schema.safeParse(input);
        // Format rules of a field (e.g. an email, the event type) may refuse the text, never as unstorable.
        if (!result.success) expect(refusalCode(schema, input)).not.toBe('UNSTORABLE_VALUE');
      }),
      { numRuns: 100 },
    );
  });
});
