import { describe, expect, it } from 'vitest';
import {
  connectResultSchema,
  connectionErrorFrameSchema,
  connectionEstablishedFrameSchema,
  eventFrameSchema,
  heartbeatPongFrameSchema,
  historyResultSchema,
  publishResultSchema,
  refreshResultSchema,
  replyFrameSchema,
  serverFrameSchema,
  subscribeResultSchema,
  subscriptionAddedFrameSchema,
  subscriptionRemovedFrameSchema,
  unsubscribeResultSchema,
} from '@apix/protocol';

const position = { offset: 42, epoch: 'e-1' };
const storedEvent = { type: 'agent_status_update', payload: { agentId: 'a1', status: 'idle' }, metadata: { timestamp: 1_763_800_000_000, version: '1' } };

/** One valid example of every server frame, keyed by type. */
const frames = {
  'reply (ok)': { type: 'reply', id: 'p1', ok: true, result: { channel: 'agent:a1', offset: 43, epoch: 'e-1', duplicate: false } },
  'reply (error)': {
    type: 'reply',
    id: 's1',
    ok: false,
    error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN', message: 'channel does not exist or you may not use it', retryable: false },
  },
  'connection.established': {
    type: 'connection.established',
    connectionId: 'conn_1',
    sessionId: 'sess_1',
    organizationId: 'acme',
    userId: 'u1',
    heartbeatIntervalMs: 25_000,
    expiresAt: 1_763_803_600_000,
    serverTime: 1_763_800_000_000,
  },
  'connection.error': { type: 'connection.error', error: { code: 'APIX_ERR_BAD_JSON', message: 'frame is not valid JSON', retryable: false } },
  'subscription.added': { type: 'subscription.added', channel: 'agent:a1', channelType: 'AGENT_EVENTS', position, recovered: true, recovering: true },
  'subscription.removed': { type: 'subscription.removed', channel: 'agent:a1', reason: 'unsubscribed' },
  event: { type: 'event', channel: 'agent:a1', offset: 43, epoch: 'e-1', event: storedEvent },
  'heartbeat.pong': { type: 'heartbeat.pong', id: 'hb1', ts: 1_763_800_000_000, serverTime: 1_763_800_000_005 },
};

describe('serverFrameSchema', () => {
  it.each(Object.entries(frames))('accepts %s', (_label, frame) => {
    expect(serverFrameSchema.safeParse(JSON.parse(JSON.stringify(frame))).success).toBe(true);
  });

  it.each([
    ['a client frame', { type: 'subscribe', id: 's1', channels: ['org'] }],
    ['a reply without an id', { type: 'reply', ok: true, result: null }],
    ['a reply with ok as a string', { type: 'reply', id: '1', ok: 'true', result: null }],
    ['a failed reply without an error', { type: 'reply', id: '1', ok: false }],
    ['an error without retryable', { type: 'connection.error', error: { code: 'APIX_ERR_BAD_JSON', message: 'x' } }],
    ['an event at offset 0', { ...frames.event, offset: 0 }],
    ['an event without metadata', { ...frames.event, event: { type: 'x', payload: 1 } }],
    ['a pong without serverTime', { type: 'heartbeat.pong', id: 'hb1' }],
    ['an unknown type', { type: 'message.sent' }],
  ])('refuses %s', (_label, frame) => {
    expect(serverFrameSchema.safeParse(frame).success).toBe(false);
  });
});

describe('reply', () => {
  it('ok:true carries a result, ok:false an error', () => {
    expect(replyFrameSchema.safeParse(frames['reply (ok)']).success).toBe(true);
    expect(replyFrameSchema.safeParse(frames['reply (error)']).success).toBe(true);
    expect(replyFrameSchema.safeParse({ type: 'reply', id: '1', ok: true }).success).toBe(false);
  });

  it('an error body may carry details', () => {
    const reply = { ...frames['reply (error)'], error: { ...frames['reply (error)'].error, details: { channel: 'agent:a1' } } };
    expect(replyFrameSchema.safeParse(reply).success).toBe(true);
  });
});

describe('results', () => {
  it('connect', () => {
    expect(connectResultSchema.safeParse({ connectionId: 'c', sessionId: 's' }).success).toBe(true);
    expect(connectResultSchema.safeParse({ connectionId: 'c' }).success).toBe(false);
  });

  it('subscribe: one state per channel; offset 0 is a valid live position', () => {
    const state = { channel: 'agent:a1', channelType: 'AGENT_EVENTS', position: { offset: 0, epoch: 'e' }, recovered: false, recovering: false };
    expect(subscribeResultSchema.safeParse({ subscriptions: [state] }).success).toBe(true);
    expect(subscribeResultSchema.safeParse({ subscriptions: [{ ...state, recovering: true, missed: 12 }] }).success).toBe(true);
    expect(subscribeResultSchema.safeParse({ subscriptions: [{ ...state, missed: -1 }] }).success).toBe(false);
    expect(subscribeResultSchema.safeParse({ subscriptions: [{ ...state, channelType: 'CHAT' }] }).success).toBe(false);
    expect(subscribeResultSchema.safeParse({ subscriptions: [{ ...state, position: { offset: 1 } }] }).success).toBe(false);
  });

  it('unsubscribe', () => {
    expect(unsubscribeResultSchema.safeParse({ channels: ['agent:a1'] }).success).toBe(true);
    expect(unsubscribeResultSchema.safeParse({}).success).toBe(false);
  });

  it('publish: offsets start at 1, duplicate is required', () => {
    const ok = { channel: 'agent:a1', offset: 1, epoch: 'e', duplicate: true };
    expect(publishResultSchema.safeParse(ok).success).toBe(true);
    expect(publishResultSchema.safeParse({ ...ok, offset: 0 }).success).toBe(false);
    expect(publishResultSchema.safeParse({ ...ok, offset: 1.5 }).success).toBe(false);
    const { duplicate: _d, ...noDuplicate } = ok;
    expect(publishResultSchema.safeParse(noDuplicate).success).toBe(false);
  });

  it('history', () => {
    const ok = { channel: 'agent:a1', epoch: 'e', publications: [{ offset: 3, event: storedEvent }], position: { offset: 3, epoch: 'e' }, complete: true };
    expect(historyResultSchema.safeParse(ok).success).toBe(true);
    expect(historyResultSchema.safeParse({ ...ok, publications: [], complete: false }).success).toBe(true);
    expect(historyResultSchema.safeParse({ ...ok, publications: [{ offset: 0, event: storedEvent }] }).success).toBe(false);
    const { complete: _c, ...noComplete } = ok;
    expect(historyResultSchema.safeParse(noComplete).success).toBe(false);
  });

  it('refresh', () => {
    expect(refreshResultSchema.safeParse({ expiresAt: 1_763_803_600_000 }).success).toBe(true);
    expect(refreshResultSchema.safeParse({ expiresAt: '2026-11-22' }).success).toBe(false);
  });
});

describe('individual frames', () => {
  it('connection.established needs a positive heartbeat interval', () => {
    expect(connectionEstablishedFrameSchema.safeParse({ ...frames['connection.established'], heartbeatIntervalMs: 0 }).success).toBe(false);
  });
  it('connection.error has no id', () => {
    expect(connectionErrorFrameSchema.parse({ ...frames['connection.error'], id: 'x' })).not.toHaveProperty('id');
  });
  it('subscription.added is a subscription state with its type', () => {
    expect(subscriptionAddedFrameSchema.safeParse(frames['subscription.added']).success).toBe(true);
    const { type: _t, ...state } = frames['subscription.added'];
    expect(subscriptionAddedFrameSchema.safeParse(state).success).toBe(false);
  });
  it('subscription.removed gives its reason, and an error when revoked', () => {
    expect(subscriptionRemovedFrameSchema.safeParse({ ...frames['subscription.removed'], reason: 'revoked', error: frames['connection.error'].error }).success).toBe(true);
    expect(subscriptionRemovedFrameSchema.safeParse({ ...frames['subscription.removed'], reason: 'kicked' }).success).toBe(false);
  });
  it('event frames carry offset and epoch beside the stored event', () => {
    expect(eventFrameSchema.safeParse({ ...frames.event, epoch: undefined }).success).toBe(false);
  });
  it('heartbeat.pong echoes the ping id', () => {
    expect(heartbeatPongFrameSchema.safeParse({ type: 'heartbeat.pong', serverTime: 1 }).success).toBe(false);
  });
});
