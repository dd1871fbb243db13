import { describe, expect, it } from 'vitest';
import {
  apiXEventSchema,
  eventMetadataInputSchema,
  eventMetadataSchema,
  publishEventSchema,
  publishFrameSchema,
  storedEventSchema,
} from '@apix/protocol';
import { SEED_PROTOCOL_TYPES } from './seed-event-types.js';

function paths(result: { success: boolean; error?: { issues: Array<{ path: PropertyKey[] }> } }): string[] {
  return result.success ? [] : result.error!.issues.map((i) => i.path.map(String).join('.'));
}

describe('publishEventSchema', () => {
  it('accepts a typed domain event whose payload matches', () => {
    const event = { type: 'tool_call_start', payload: { toolCallId: 'tc1', toolName: 'search' } };
    expect(publishEventSchema.parse(event)).toEqual(event);
  });

  it('refuses a typed domain event whose payload does not match, pointing into the payload', () => {
    const result = publishEventSchema.safeParse({ type: 'tool_call_error', payload: { toolCallId: 'tc1', error: {} } });
    expect(paths(result)).toEqual(['payload.error.message']);
  });

  it('refuses a typed domain event without a payload', () => {
    expect(publishEventSchema.safeParse({ type: 'system_notification' }).success).toBe(false);
    expect(paths(publishEventSchema.safeParse({ type: 'system_notification', payload: null }))).toEqual(['payload']);
  });

  it.each(SEED_PROTOCOL_TYPES)('refuses the protocol event type %s (reserved for the server)', (type) => {
    const result = publishEventSchema.safeParse({ type, payload: {} });
    expect(paths(result)).toEqual(['type']);
    expect(result.error?.issues[0]?.message).toMatch(/reserved/);
  });

  it.each(SEED_PROTOCOL_TYPES)('refuses %s in a publish frame too', (type) => {
    const frame = { type: 'publish', id: 'p1', channel: 'org', event: { type, payload: {} } };
    expect(paths(publishFrameSchema.safeParse(frame))).toEqual(['event.type']);
  });

  it.each([
    ['an object', { orderId: 'o1', total: 12.5 }],
    ['a string', 'hello'],
    ['a number', 3],
    ['null', null],
    ['an array', [1, 'two']],
  ])('accepts a custom event type with %s as payload', (_label, payload) => {
    expect(publishEventSchema.safeParse({ type: 'order.created', payload }).success).toBe(true);
  });

  it('accepts a custom event type without a payload (the server stores null)', () => {
    expect(publishEventSchema.safeParse({ type: 'order.created' }).success).toBe(true);
  });

  it('a custom type that only resembles a reserved one is not reserved', () => {
    expect(publishEventSchema.safeParse({ type: 'connection.established.v2', payload: {} }).success).toBe(true);
    expect(publishEventSchema.safeParse({ type: 'message', payload: {} }).success).toBe(true);
  });

  it.each([
    ['no type', { payload: {} }, 'type'],
    ['upper-case type', { type: 'Order.created', payload: {} }, 'type'],
    ['numeric type', { type: 5, payload: {} }, 'type'],
  ])('refuses %s', (_label, event, path) => {
    expect(paths(publishEventSchema.safeParse(event))).toContain(path);
  });

  it('refuses extra top-level keys (a channel or id does not belong in the event)', () => {
    for (const extra of [{ channel: 'org' }, { id: 'e1' }, { offset: 3 }]) {
      expect(publishEventSchema.safeParse({ type: 'x', payload: {}, ...extra }).success).toBe(false);
    }
  });
});

describe('event metadata on publish', () => {
  it('may be left out entirely, or give only some fields (the server fills timestamp and version)', () => {
    expect(publishEventSchema.safeParse({ type: 'x', payload: 1 }).success).toBe(true);
    expect(eventMetadataInputSchema.safeParse({}).success).toBe(true);
    expect(eventMetadataInputSchema.safeParse({ correlation_id: 'c-9' }).success).toBe(true);
    expect(eventMetadataInputSchema.safeParse({ timestamp: 1_763_800_000_000, version: '1', correlation_id: 'c-9' }).success).toBe(true);
  });

  it('carries application fields of scalar values', () => {
    const metadata = { tenantRegion: 'eu', priority: 2, urgent: true, parent: null };
    expect(eventMetadataInputSchema.parse(metadata)).toEqual(metadata);
  });

  it.each([
    ['negative timestamp', { timestamp: -1 }, 'timestamp'],
    ['fractional timestamp', { timestamp: 1.5 }, 'timestamp'],
    ['string timestamp', { timestamp: '2026-11-22' }, 'timestamp'],
    ['empty version', { version: '' }, 'version'],
    ['numeric version', { version: 1 }, 'version'],
    ['empty correlation id', { correlation_id: '' }, 'correlation_id'],
    ['object field', { extra: { a: 1 } }, 'extra'],
    ['array field', { tags: ['a'] }, 'tags'],
    ['over-long string field', { note: 'x'.repeat(1001) }, 'note'],
  ])('refuses %s', (_label, metadata, path) => {
    expect(paths(eventMetadataInputSchema.safeParse(metadata))).toContain(path);
  });

  it('allows 32 fields and refuses 33', () => {
    const fields = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, i]));
    expect(eventMetadataInputSchema.safeParse(fields(32)).success).toBe(true);
    expect(eventMetadataInputSchema.safeParse(fields(33)).success).toBe(false);
    expect(publishEventSchema.safeParse({ type: 'x', payload: 1, metadata: fields(33) }).success).toBe(false);
  });
});

describe('storedEventSchema (as delivered)', () => {
  const stored = { type: 'x', payload: { a: 1 }, metadata: { timestamp: 1_763_800_000_000, version: '1', region: 'eu' } };

  it('accepts an event with complete metadata', () => {
    expect(storedEventSchema.parse(stored)).toEqual(stored);
    expect(eventMetadataSchema.safeParse(stored.metadata).success).toBe(true);
  });

  it('always has timestamp and version', () => {
    expect(storedEventSchema.safeParse({ ...stored, metadata: { version: '1' } }).success).toBe(false);
    expect(storedEventSchema.safeParse({ ...stored, metadata: { timestamp: 1 } }).success).toBe(false);
    expect(storedEventSchema.safeParse({ type: 'x', payload: 1 }).success).toBe(false);
  });
});

describe('apiXEventSchema (the seed contract)', () => {
  it('accepts the seed shape with a typed payload checked', () => {
    const event = {
      type: 'agent_status_update',
      channel: 'agent:a1',
      payload: { agentId: 'a1', status: 'idle' },
      metadata: { timestamp: 1, version: '1', correlation_id: 'c' },
    };
    expect(apiXEventSchema.safeParse(event).success).toBe(true);
    expect(paths(apiXEventSchema.safeParse({ ...event, payload: { agentId: 'a1' } }))).toEqual(['payload.status']);
  });

  it('checks the channel name and refuses reserved types', () => {
    expect(paths(apiXEventSchema.safeParse({ type: 'x', channel: 'agent:..', payload: 1 }))).toEqual(['channel']);
    expect(paths(apiXEventSchema.safeParse({ type: 'message.sent', channel: 'org', payload: 1 }))).toEqual(['type']);
  });
});
