import {
  connectionClosingFrameSchema,
  connectionErrorFrameSchema,
  connectionEstablishedFrameSchema,
  eventFrameSchema,
  heartbeatPongFrameSchema,
  historyResultSchema,
  messageFailedFrameSchema,
  publishResultSchema,
  replyFrameSchema,
  sessionRenewedFrameSchema,
  subscribeResultSchema,
  subscriptionAddedFrameSchema,
  subscriptionRemovedFrameSchema,
  type ServerFrame,
} from '@apix/protocol';
import { describe, expect, it } from 'vitest';
import { historyResultCheck, publishResultCheck, runCheck, serverFrameChecks, subscribeResultCheck, type Check } from '../src/frame-checks.js';

/**
 * The SDK checks server frames by hand (the zod schemas stay out of the browser bundle).
 * These cases keep the two in step: every valid frame passes both, and every malformed one
 * the SDK relies on refusing fails both.
 */
const schemas: Record<ServerFrame['type'], { safeParse(v: unknown): { success: boolean } }> = {
  reply: replyFrameSchema,
  'connection.established': connectionEstablishedFrameSchema,
  'connection.error': connectionErrorFrameSchema,
  'subscription.added': subscriptionAddedFrameSchema,
  'subscription.removed': subscriptionRemovedFrameSchema,
  event: eventFrameSchema,
  'heartbeat.pong': heartbeatPongFrameSchema,
  'connection.closing': connectionClosingFrameSchema,
  'message.failed': messageFailedFrameSchema,
  'session.renewed': sessionRenewedFrameSchema,
};

const event = { type: 'tool_call_start', payload: { toolCallId: 't', toolName: 'x' }, metadata: { timestamp: 1_700_000_000_000, version: '1', correlation_id: 'c', app: 'x' } };
const state = { channel: 'agent:a', channelType: 'AGENT_EVENTS', position: { offset: 3, epoch: 'e1' }, recovered: true, recovering: true };

const valid: object[] = [
  { type: 'reply', id: '1', ok: true, result: { anything: 1 } },
  { type: 'reply', id: '2', ok: false, error: { code: 'APIX_ERR_RATE_LIMITED', message: 'slow down', retryable: true, details: { retryAfterMs: 10 } } },
  { type: 'connection.established', connectionId: 'c', sessionId: 's', organizationId: 'o', userId: 'u', heartbeatIntervalMs: 25_000, expiresAt: 1, serverTime: 2 },
  { type: 'connection.error', error: { code: 'APIX_ERR_BAD_JSON', message: 'bad', retryable: false } },
  { type: 'subscription.added', ...state, missed: 2 },
  { type: 'subscription.removed', channel: 'agent:a', reason: 'unsubscribed' },
  { type: 'subscription.removed', channel: 'agent:a', reason: 'resubscribe' },
  { type: 'subscription.removed', channel: 'agent:a', reason: 'revoked', error: { code: 'APIX_ERR_UNAVAILABLE', message: 'x', retryable: true } },
  { type: 'event', channel: 'agent:a', offset: 1, epoch: 'e1', event },
  { type: 'event', channel: 'agent:a', offset: 1, epoch: 'e1', acknowledgment: true, retryCount: 2, event },
  { type: 'message.failed', channel: 'agent:a', offset: 4, epoch: 'e1', deliveryCount: 5, reason: 'max-deliveries' },
  { type: 'heartbeat.pong', id: '3', ts: 12.5, serverTime: 5 },
  { type: 'heartbeat.pong', id: '3', serverTime: 5 },
  { type: 'connection.closing', code: 4000, reason: 'deploy', retryAfterMs: 1500 },
  { type: 'connection.closing', code: 4000, reason: 'deploy' },
  {
    type: 'connection.established', connectionId: 'c', sessionId: 's', organizationId: 'o', userId: 'u', heartbeatIntervalMs: 25_000, expiresAt: 1, serverTime: 2,
    sessionToken: 'v1.x.y', sessionExpiresAt: 3, resumed: true, subscriptions: [state],
  },
  {
    type: 'connection.established', connectionId: 'c', sessionId: 's', organizationId: 'o', userId: 'u', heartbeatIntervalMs: 25_000, expiresAt: 1, serverTime: 2,
    sessionToken: 'v1.x.y', sessionExpiresAt: 3, resumed: false, sessionError: { code: 'APIX_ERR_SESSION_EXPIRED', message: 'm', retryable: false },
  },
  { type: 'session.renewed', sessionToken: 'v1.x.y', sessionExpiresAt: 3 },
];

const malformed: object[] = [
  { type: 'event', channel: 'agent:a', offset: 1, epoch: 'e1', acknowledgment: false, event }, // only `true` or absent
  { type: 'event', channel: 'agent:a', offset: 1, epoch: 'e1', acknowledgment: true, retryCount: -1, event },
  { type: 'message.failed', channel: 'agent:a', offset: 4, epoch: 'e1', deliveryCount: 0, reason: 'max-deliveries' },
  { type: 'reply', ok: true, result: 1 }, // no id
  { type: 'reply', id: '2', ok: false, error: { code: 'X', message: 'm' } }, // no retryable
  { type: 'connection.established', connectionId: 'c', sessionId: 's', organizationId: 'o', userId: 'u', heartbeatIntervalMs: 0, expiresAt: 1, serverTime: 2 },
  { type: 'connection.established', connectionId: 'c', sessionId: 's', organizationId: 'o', userId: 'u', heartbeatIntervalMs: 10, expiresAt: '1', serverTime: 2 },
  { type: 'subscription.added', ...state, channelType: 'NOPE' },
  { type: 'subscription.added', ...state, position: { offset: -1, epoch: 'e1' } },
  { type: 'subscription.removed', channel: 'agent:a', reason: 'gone' },
  { type: 'session.renewed', sessionToken: 'v1.x.y' }, // no expiry
  { type: 'connection.established', connectionId: 'c', sessionId: 's', organizationId: 'o', userId: 'u', heartbeatIntervalMs: 10, expiresAt: 1, serverTime: 2, subscriptions: [{ ...state, recovered: 'yes' }] },
  { type: 'event', channel: 'agent:a', offset: 0, epoch: 'e1', event },
  { type: 'event', channel: 'agent:a', offset: 1.5, epoch: 'e1', event },
  { type: 'event', channel: 'agent:a', offset: 1, epoch: 'e1', event: { ...event, metadata: { version: '1' } } },
  { type: 'event', channel: 'agent:a', offset: 1, epoch: 'e1', event: { payload: 1, metadata: event.metadata } },
  { type: 'event', channel: 7, offset: 1, epoch: 'e1', event },
  { type: 'heartbeat.pong', id: '3', serverTime: 'now' },
  { type: 'connection.closing', code: 4000, reason: 'deploy', retryAfterMs: -5 },
  { type: 'connection.closing', code: '4000', reason: 'deploy' },
];

function sdkAccepts(frame: object): boolean {
  const type = (frame as { type: ServerFrame['type'] }).type;
  return runCheck(serverFrameChecks[type] as Check<unknown>, frame).ok;
}

describe('the SDK frame checks agree with the protocol schemas', () => {
  it.each(valid.map((f) => [JSON.stringify(f).slice(0, 90), f]))('accepts %s', (_name, frame) => {
    expect(schemas[(frame as { type: ServerFrame['type'] }).type].safeParse(frame).success).toBe(true);
    expect(sdkAccepts(frame)).toBe(true);
  });

  it.each(malformed.map((f) => [JSON.stringify(f).slice(0, 90), f]))('refuses %s', (_name, frame) => {
    expect(schemas[(frame as { type: ServerFrame['type'] }).type].safeParse(frame).success).toBe(false);
    expect(sdkAccepts(frame)).toBe(false);
  });

  it('checks reply results the way the schemas do', () => {
    const cases: Array<[Check<unknown>, { safeParse(v: unknown): { success: boolean } }, unknown, boolean]> = [
      [publishResultCheck, publishResultSchema, { channel: 'agent:a', offset: 1, epoch: 'e', duplicate: false }, true],
      [publishResultCheck, publishResultSchema, { channel: 'agent:a', offset: 0, epoch: 'e', duplicate: false }, false],
      [subscribeResultCheck, subscribeResultSchema, { subscriptions: [state] }, true],
      [subscribeResultCheck, subscribeResultSchema, { subscriptions: [{ ...state, recovered: 'yes' }] }, false],
      [historyResultCheck, historyResultSchema, { channel: 'agent:a', epoch: 'e', publications: [{ offset: 1, event }], position: { offset: 1, epoch: 'e' }, complete: true }, true],
      [historyResultCheck, historyResultSchema, { channel: 'agent:a', epoch: 'e', publications: [{ offset: 1 }], position: { offset: 1, epoch: 'e' }, complete: true }, false],
    ];
    for (const [check, schema, value, ok] of cases) {
      expect(schema.safeParse(value).success).toBe(ok);
      expect(runCheck(check, value).ok).toBe(ok);
    }
  });

  it('names the path of the first problem', () => {
    const result = runCheck(serverFrameChecks.event as Check<unknown>, { type: 'event', channel: 'agent:a', offset: 1, epoch: 'e1', event: { ...event, metadata: { version: '1' } } });
    expect(result).toEqual({ ok: false, path: 'event.metadata.timestamp', problem: 'expected integer >= 0, got undefined' });
  });
});
