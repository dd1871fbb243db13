import { describe, expect, it } from 'vitest';
import {
  ackFrameSchema,
  clientFrameSchema,
  MAX_ACK_OFFSETS,
  connectFrameSchema,
  historyFrameSchema,
  heartbeatPingFrameSchema,
  isClientFrameType,
  publishFrameSchema,
  refreshFrameSchema,
  presenceFrameSchema,
  subscribeFrameSchema,
  unsubscribeFrameSchema,
} from '@apix/protocol';
import type { z } from 'zod';

type Json = Record<string, unknown>;

/** One valid example of every client frame, in the shape a client sends on the wire. */
const valid = {
  connect: {
    type: 'connect',
    id: 'c1',
    token: 'eyJhbGciOiJSUzI1NiJ9.e30.sig',
    clientType: 'WEB_APP',
    metadata: { appVersion: '1.2.3', tabs: 2, beta: true },
  },
  subscribe: {
    type: 'subscribe',
    id: 's1',
    channels: ['agent:a1', 'user:u1'],
    since: { 'agent:a1': { offset: 41, epoch: 'e-1' } },
    filters: { types: ['agent_status_update'], payload: { status: 'error' } },
  },
  unsubscribe: { type: 'unsubscribe', id: 'u1', channels: ['agent:a1'] },
  publish: {
    type: 'publish',
    id: 'p1',
    channel: 'agent:a1',
    event: { type: 'agent_status_update', payload: { agentId: 'a1', status: 'running' } },
    idempotencyKey: 'status-a1-0001',
  },
  history: { type: 'history', id: 'h1', channel: 'agent:a1', since: { offset: 0, epoch: 'e-1' }, limit: 100 },
  'heartbeat.ping': { type: 'heartbeat.ping', id: 'hb1', ts: 1_700_000_000_000 },
  refresh: { type: 'refresh', id: 'r1', token: 'eyJhbGciOiJSUzI1NiJ9.e30.sig2' },
  presence: { type: 'presence', id: 'p1', channel: 'room:design' },
} satisfies Record<string, Json>;

const schemas: Record<keyof typeof valid, z.ZodType> = {
  connect: connectFrameSchema,
  subscribe: subscribeFrameSchema,
  unsubscribe: unsubscribeFrameSchema,
  publish: publishFrameSchema,
  history: historyFrameSchema,
  'heartbeat.ping': heartbeatPingFrameSchema,
  refresh: refreshFrameSchema,
  presence: presenceFrameSchema,
};

const frameTypes = Object.keys(valid) as Array<keyof typeof valid>;

function with_(base: Json, patch: Json): Json {
  return { ...base, ...patch };
}
function without(base: Json, key: string): Json {
  const { [key]: _dropped, ...rest } = base;
  return rest;
}
/** Distinct paths (joined with '.') of the issues a parse reports; [] when it succeeds. */
function issuePaths(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value);
  return result.success ? [] : [...new Set(result.error.issues.map((i) => i.path.map(String).join('.')))];
}

describe('every client frame type', () => {
  it('has one valid example per documented type, and no more', () => {
    expect(frameTypes.sort()).toEqual(['connect', 'heartbeat.ping', 'history', 'presence', 'publish', 'refresh', 'subscribe', 'unsubscribe']);
  });

  it.each(frameTypes)('%s: accepts a valid example, through its own schema and the union', (type) => {
    const frame = valid[type];
    expect(schemas[type].safeParse(frame).success).toBe(true);
    const parsed = clientFrameSchema.parse(JSON.parse(JSON.stringify(frame)));
    expect(parsed.type).toBe(type);
    expect(parsed).toEqual(frame);
  });

  it.each(frameTypes)('%s: accepts the minimal form (optional fields left out)', (type) => {
    const minimal: Record<string, Json> = {
      connect: { type: 'connect', id: '1', token: 't' },
      subscribe: { type: 'subscribe', id: '1', channels: ['org'] },
      unsubscribe: { type: 'unsubscribe', id: '1', channels: ['org'] },
      publish: { type: 'publish', id: '1', channel: 'org', event: { type: 'custom', payload: null } },
      history: { type: 'history', id: '1', channel: 'org' },
      'heartbeat.ping': { type: 'heartbeat.ping', id: '1' },
      refresh: { type: 'refresh', id: '1', token: 't' },
      presence: { type: 'presence', id: '1', channel: 'room:r' },
    };
    expect(clientFrameSchema.safeParse(minimal[type]).success).toBe(true);
  });

  it.each(frameTypes)('%s: refuses a frame without an id', (type) => {
    expect(issuePaths(clientFrameSchema, without(valid[type], 'id'))).toEqual(['id']);
  });

  it.each(frameTypes.flatMap((t) => [
    [t, ''],
    [t, 7],
    [t, null],
    [t, 'x'.repeat(65)],
  ] as const))('%s: refuses id %j', (type, id) => {
    expect(issuePaths(clientFrameSchema, with_(valid[type], { id }))).toEqual(['id']);
  });

  it.each(frameTypes)('%s: accepts a 64-character id', (type) => {
    expect(clientFrameSchema.safeParse(with_(valid[type], { id: 'x'.repeat(64) })).success).toBe(true);
  });

  it.each(frameTypes)('%s: refuses extra keys', (type) => {
    const result = clientFrameSchema.safeParse(with_(valid[type], { extra: 1 }));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.code).toBe('unrecognized_keys');
  });

  it.each(frameTypes)('%s: refuses an organisation smuggled into the frame', (type) => {
    expect(clientFrameSchema.safeParse(with_(valid[type], { organizationId: 'other-org' })).success).toBe(false);
  });
});

describe('clientFrameSchema', () => {
  it.each([
    ['unknown type', { type: 'event', id: '1' }],
    ['server frame type', { type: 'reply', id: '1', ok: true, result: null }],
    ['upper-case type', { type: 'CONNECT', id: '1', token: 't' }],
    ['no type', { id: '1', token: 't' }],
    ['array', [valid.connect]],
    ['string', 'connect'],
    ['null', null],
  ])('refuses %s', (_label, frame) => {
    expect(clientFrameSchema.safeParse(frame).success).toBe(false);
  });

  it('checks a frame against the schema its type names, not another one', () => {
    // a valid unsubscribe body labelled as a history request
    expect(clientFrameSchema.safeParse({ ...valid.unsubscribe, type: 'history' }).success).toBe(false);
  });

  it('isClientFrameType knows exactly the eight request types', () => {
    for (const t of frameTypes) expect(isClientFrameType(t)).toBe(true);
    for (const t of ['reply', 'event', 'heartbeat.pong', 'connection.established', 'toString', '__proto__', 'constructor', '']) {
      expect(isClientFrameType(t)).toBe(false);
    }
  });
});

describe('connect', () => {
  it.each([
    ['no token', without(valid.connect, 'token'), 'token'],
    ['empty token', with_(valid.connect, { token: '' }), 'token'],
    ['token over 8192 characters', with_(valid.connect, { token: 'x'.repeat(8193) }), 'token'],
    ['numeric token', with_(valid.connect, { token: 123 }), 'token'],
    ['unknown client type', with_(valid.connect, { clientType: 'DESKTOP' }), 'clientType'],
    ['lower-case client type', with_(valid.connect, { clientType: 'web_app' }), 'clientType'],
    ['nested metadata', with_(valid.connect, { metadata: { a: { b: 1 } } }), 'metadata.a'],
    ['metadata value too long', with_(valid.connect, { metadata: { a: 'x'.repeat(501) } }), 'metadata.a'],
    ['metadata as array', with_(valid.connect, { metadata: ['a'] }), 'metadata'],
  ])('refuses %s', (_label, frame, path) => {
    expect(issuePaths(connectFrameSchema, frame)).toContain(path);
  });

  it('accepts every seed client type', () => {
    for (const clientType of ['WEB_APP', 'MOBILE_APP', 'SDK_WIDGET', 'API_CLIENT', 'INTERNAL_SERVICE']) {
      expect(connectFrameSchema.safeParse(with_(valid.connect, { clientType })).success).toBe(true);
    }
  });

  it('accepts a token of exactly 8192 characters', () => {
    expect(connectFrameSchema.safeParse(with_(valid.connect, { token: 'x'.repeat(8192) })).success).toBe(true);
  });
});

describe('subscribe', () => {
  const channels = (n: number) => Array.from({ length: n }, (_, i) => `agent:a${i}`);

  it('accepts 100 channels and refuses 101', () => {
    expect(subscribeFrameSchema.safeParse(with_(valid.subscribe, { channels: channels(100), since: undefined })).success).toBe(true);
    expect(issuePaths(subscribeFrameSchema, with_(valid.subscribe, { channels: channels(101) }))).toEqual(['channels']);
  });

  it.each([
    ['no channels key', without(valid.subscribe, 'channels'), 'channels'],
    ['empty channel list', with_(valid.subscribe, { channels: [] }), 'channels'],
    ['channels as a string', with_(valid.subscribe, { channels: 'agent:a1' }), 'channels'],
    ['an invalid channel among valid ones', with_(valid.subscribe, { channels: ['agent:a1', 'agent:*'] }), 'channels.1'],
    ['a channel of another tenant', with_(valid.subscribe, { channels: ['other/agent:a1'] }), 'channels.0'],
    ['acknowledgment as a string', with_(valid.subscribe, { acknowledgment: 'yes' }), 'acknowledgment'],
    ['filters with an unknown key', with_(valid.subscribe, { filters: { channel: 'x' } }), 'filters'],
    ['since as an array', with_(valid.subscribe, { since: [{ offset: 1, epoch: 'e' }] }), 'since'],
  ])('refuses %s', (_label, frame, path) => {
    expect(issuePaths(subscribeFrameSchema, frame)).toContain(path);
  });

  it.each([
    ['negative offset', { offset: -1, epoch: 'e' }, 'offset'],
    ['fractional offset', { offset: 1.5, epoch: 'e' }, 'offset'],
    ['string offset', { offset: '5', epoch: 'e' }, 'offset'],
    ['NaN offset', { offset: Number.NaN, epoch: 'e' }, 'offset'],
    ['infinite offset', { offset: Number.POSITIVE_INFINITY, epoch: 'e' }, 'offset'],
    ['offset past 2^53-1', { offset: 2 ** 53, epoch: 'e' }, 'offset'],
    ['missing offset', { epoch: 'e' }, 'offset'],
    ['missing epoch', { offset: 1 }, 'epoch'],
    ['empty epoch', { offset: 1, epoch: '' }, 'epoch'],
    ['epoch with a space', { offset: 1, epoch: 'a b' }, 'epoch'],
    ['epoch with a colon', { offset: 1, epoch: 'a:b' }, 'epoch'],
    ['non-ASCII epoch', { offset: 1, epoch: '\u00e9' }, 'epoch'],
    ['65-character epoch', { offset: 1, epoch: 'e'.repeat(65) }, 'epoch'],
    ['numeric epoch', { offset: 1, epoch: 7 }, 'epoch'],
  ])('refuses a since position with %s', (_label, position, field) => {
    const frame = with_(valid.subscribe, { since: { 'agent:a1': position } });
    expect(issuePaths(subscribeFrameSchema, frame)).toEqual([`since.agent:a1.${field}`]);
  });

  it('refuses a since position with extra keys', () => {
    const frame = with_(valid.subscribe, { since: { 'agent:a1': { offset: 1, epoch: 'e', node: 'n1' } } });
    expect(subscribeFrameSchema.safeParse(frame).success).toBe(false);
  });

  it('accepts offset 0 ("before the first publication") and the largest safe offset', () => {
    for (const offset of [0, Number.MAX_SAFE_INTEGER]) {
      const frame = with_(valid.subscribe, { since: { 'agent:a1': { offset, epoch: 'Ab_-9' } } });
      expect(subscribeFrameSchema.safeParse(frame).success).toBe(true);
    }
  });

  it('accepts acknowledgment: true (acknowledged delivery)', () => {
    expect(subscribeFrameSchema.safeParse(with_(valid.subscribe, { acknowledgment: true })).success).toBe(true);
  });
});

describe('unsubscribe', () => {
  it.each([
    ['empty list', { channels: [] }],
    ['101 channels', { channels: Array.from({ length: 101 }, (_, i) => `room:r${i}`) }],
    ['invalid channel', { channels: ['room:a b'] }],
    ['since (not an unsubscribe field)', { since: {} }],
  ])('refuses %s', (_label, patch) => {
    expect(unsubscribeFrameSchema.safeParse(with_(valid.unsubscribe, patch)).success).toBe(false);
  });
});

describe('publish', () => {
  it.each([
    ['no channel', without(valid.publish, 'channel'), 'channel'],
    ['invalid channel', with_(valid.publish, { channel: 'Agent:a1' }), 'channel'],
    ['no event', without(valid.publish, 'event'), 'event'],
    ['event as a string', with_(valid.publish, { event: 'agent_status_update' }), 'event'],
    ['reserved event type', with_(valid.publish, { event: { type: 'connection.established', payload: {} } }), 'event.type'],
    ['domain payload that does not match its schema', with_(valid.publish, { event: { type: 'agent_status_update', payload: { agentId: 'a1', status: 'sleepy' } } }), 'event.payload.status'],
    ['event with a channel inside', with_(valid.publish, { event: { ...valid.publish.event, channel: 'agent:a1' } }), 'event'],
    ['empty idempotency key', with_(valid.publish, { idempotencyKey: '' }), 'idempotencyKey'],
    ['idempotency key over 200 characters', with_(valid.publish, { idempotencyKey: 'k'.repeat(201) }), 'idempotencyKey'],
    ['numeric idempotency key', with_(valid.publish, { idempotencyKey: 5 }), 'idempotencyKey'],
  ])('refuses %s', (_label, frame, path) => {
    expect(issuePaths(publishFrameSchema, frame)).toContain(path);
  });
});

describe('history', () => {
  it.each([
    ['limit 0', { limit: 0 }, 'limit'],
    ['limit 1001', { limit: 1001 }, 'limit'],
    ['fractional limit', { limit: 1.5 }, 'limit'],
    ['string limit', { limit: '10' }, 'limit'],
    ['negative since offset', { since: { offset: -1, epoch: 'e' } }, 'since.offset'],
    ['fractional since offset', { since: { offset: 0.5, epoch: 'e' } }, 'since.offset'],
    ['string since offset', { since: { offset: '3', epoch: 'e' } }, 'since.offset'],
    ['bad epoch', { since: { offset: 3, epoch: 'e/1' } }, 'since.epoch'],
    ['since as a number', { since: 3 }, 'since'],
    ['two channels', { channel: ['agent:a1', 'agent:a2'] }, 'channel'],
  ])('refuses %s', (_label, patch, path) => {
    expect(issuePaths(historyFrameSchema, with_(valid.history, patch))).toEqual([path]);
  });

  it('accepts limits 1 and 1000', () => {
    expect(historyFrameSchema.safeParse(with_(valid.history, { limit: 1 })).success).toBe(true);
    expect(historyFrameSchema.safeParse(with_(valid.history, { limit: 1000 })).success).toBe(true);
  });
});

describe('heartbeat.ping and refresh', () => {
  it('heartbeat.ping refuses a non-numeric ts', () => {
    expect(issuePaths(heartbeatPingFrameSchema, with_(valid['heartbeat.ping'], { ts: 'now' }))).toEqual(['ts']);
  });
  it('refresh needs a non-empty token', () => {
    expect(issuePaths(refreshFrameSchema, without(valid.refresh, 'token'))).toEqual(['token']);
    expect(issuePaths(refreshFrameSchema, with_(valid.refresh, { token: '' }))).toEqual(['token']);
  });
  it('refresh cannot change the organisation or user by frame', () => {
    expect(refreshFrameSchema.safeParse(with_(valid.refresh, { sub: 'someone-else' })).success).toBe(false);
  });
});

describe('ack', () => {
  it('takes a cumulative upTo or a list of offsets, exactly one of them', () => {
    expect(ackFrameSchema.safeParse({ type: 'ack', id: 'a1', channel: 'agent:a1', upTo: 0 }).success).toBe(true);
    expect(ackFrameSchema.safeParse({ type: 'ack', id: 'a1', channel: 'agent:a1', offsets: [1, 5] }).success).toBe(true);
    expect(ackFrameSchema.safeParse({ type: 'ack', id: 'a1', channel: 'agent:a1' }).success).toBe(false);
    expect(ackFrameSchema.safeParse({ type: 'ack', id: 'a1', channel: 'agent:a1', upTo: 3, offsets: [1] }).success).toBe(false);
    expect(ackFrameSchema.safeParse({ type: 'ack', id: 'a1', channel: 'agent:a1', offsets: [] }).success).toBe(false);
    expect(ackFrameSchema.safeParse({ type: 'ack', id: 'a1', channel: 'agent:a1', offsets: [0] }).success).toBe(false);
    expect(ackFrameSchema.safeParse({ type: 'ack', id: 'a1', channel: 'agent:a1', offsets: Array.from({ length: MAX_ACK_OFFSETS + 1 }, (_, i) => i + 1) }).success).toBe(false);
    expect(ackFrameSchema.safeParse({ type: 'ack', id: 'a1', channel: 'agent:a1', upTo: -1 }).success).toBe(false);
    expect(clientFrameSchema.safeParse({ type: 'ack', id: 'a1', channel: 'agent:a1', upTo: 2 }).success).toBe(true);
  });
});
