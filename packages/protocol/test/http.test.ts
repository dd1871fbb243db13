import { describe, expect, it } from 'vitest';
import { httpErrorResponseSchema, httpHistoryQuerySchema, httpPublishBodySchema, publishEventSchema, statusResponseSchema } from '@apix/protocol';

describe('httpHistoryQuerySchema', () => {
  it('coerces query-string numbers', () => {
    expect(httpHistoryQuerySchema.parse({ sinceOffset: '10', sinceEpoch: 'e-1', limit: '50' })).toEqual({ sinceOffset: 10, sinceEpoch: 'e-1', limit: 50 });
    expect(httpHistoryQuerySchema.parse({})).toEqual({});
  });

  it('needs sinceOffset and sinceEpoch together', () => {
    expect(httpHistoryQuerySchema.safeParse({ sinceOffset: '10' }).success).toBe(false);
    expect(httpHistoryQuerySchema.safeParse({ sinceEpoch: 'e' }).success).toBe(false);
  });

  it.each([
    ['negative offset', { sinceOffset: '-1', sinceEpoch: 'e' }],
    ['fractional offset', { sinceOffset: '1.5', sinceEpoch: 'e' }],
    ['non-numeric offset', { sinceOffset: 'abc', sinceEpoch: 'e' }],
    ['bad epoch', { sinceOffset: '1', sinceEpoch: 'e 1' }],
    ['limit 0', { limit: '0' }],
    ['limit 1001', { limit: '1001' }],
    ['unknown parameter', { channel: 'org' }],
  ])('refuses %s', (_label, query) => {
    expect(httpHistoryQuerySchema.safeParse(query).success).toBe(false);
  });
});

describe('httpPublishBodySchema', () => {
  it('takes the publish frame event shape plus an idempotency key', () => {
    expect(httpPublishBodySchema.safeParse({ type: 'x', payload: 1, metadata: { correlation_id: 'c' }, idempotencyKey: 'k' }).success).toBe(true);
    expect(httpPublishBodySchema.safeParse({ type: 'x', payload: 1, channel: 'org' }).success).toBe(false);
    expect(httpPublishBodySchema.safeParse({ type: 'x', payload: 1, idempotencyKey: '' }).success).toBe(false);
  });

  // HTTP publishing must not be a way around the checks the publish frame makes.
  it.each(['connection.established', 'heartbeat.pong', 'message.failed', 'subscription.removed'])('refuses the reserved type %s', (type) => {
    const result = httpPublishBodySchema.safeParse({ type, payload: {} });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['type']);
  });

  it('checks the payload of typed domain events', () => {
    expect(httpPublishBodySchema.safeParse({ type: 'agent_status_update', payload: { agentId: 'a1', status: 'idle' } }).success).toBe(true);
    const result = httpPublishBodySchema.safeParse({ type: 'agent_status_update', payload: { agentId: 'a1', status: 'asleep' } });
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['payload.status']);
  });

  it.each(['', 'Bad Type', 'UPPER', '1st', 'a'.repeat(101)])('refuses the malformed type %j', (type) => {
    expect(httpPublishBodySchema.safeParse({ type, payload: {} }).success).toBe(false);
  });

  it('accepts exactly what the publish frame accepts as an event', () => {
    const events: unknown[] = [
      { type: 'x', payload: null },
      { type: 'x' },
      { type: 'tool_call_start', payload: { toolCallId: 't', toolName: 'n' } },
      { type: 'tool_call_start', payload: { toolCallId: 't' } },
      { type: 'message.sent', payload: {} },
      { type: 'x', payload: 1, metadata: { nested: { a: 1 } } },
    ];
    for (const event of events) {
      expect(httpPublishBodySchema.safeParse(event).success, JSON.stringify(event)).toBe(publishEventSchema.safeParse(event).success);
    }
  });
});

describe('response bodies', () => {
  it('error responses wrap the wire error body', () => {
    expect(httpErrorResponseSchema.safeParse({ error: { code: 'APIX_ERR_NOT_FOUND', message: 'not found', retryable: false } }).success).toBe(true);
    expect(httpErrorResponseSchema.safeParse({ code: 'APIX_ERR_NOT_FOUND', message: 'not found', retryable: false }).success).toBe(false);
  });
  it('status', () => {
    const status = { status: 'ok', version: '0.1.0', nodeId: 'n1', engine: 'memory', uptimeSeconds: 3.2, connections: 0, channels: 0 };
    expect(statusResponseSchema.safeParse(status).success).toBe(true);
    expect(statusResponseSchema.safeParse({ ...status, status: 'degraded' }).success).toBe(false);
  });
});
