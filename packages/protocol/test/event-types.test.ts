import { describe, expect, it } from 'vitest';
import {
  DOMAIN_EVENT_TYPES,
  EVENT_TYPES,
  PROTOCOL_EVENT_TYPES,
  domainPayloadSchemas,
  eventTypeSchema,
  isDomainEventType,
  isProtocolEventType,
  type DomainEventType,
} from '@apix/protocol';

import { SEED_DOMAIN_TYPES, SEED_PROTOCOL_TYPES } from './seed-event-types.js';

describe('event type lists', () => {
  it('hold the 18 seed types: 11 protocol types and 7 domain types', () => {
    expect([...PROTOCOL_EVENT_TYPES]).toEqual(SEED_PROTOCOL_TYPES);
    expect([...DOMAIN_EVENT_TYPES]).toEqual(SEED_DOMAIN_TYPES);
    expect([...EVENT_TYPES]).toEqual([...SEED_PROTOCOL_TYPES, ...SEED_DOMAIN_TYPES]);
  });

  it('classify each type as protocol or domain, never both', () => {
    for (const t of SEED_PROTOCOL_TYPES) {
      expect(isProtocolEventType(t)).toBe(true);
      expect(isDomainEventType(t)).toBe(false);
    }
    for (const t of SEED_DOMAIN_TYPES) {
      expect(isProtocolEventType(t)).toBe(false);
      expect(isDomainEventType(t)).toBe(true);
    }
    for (const t of ['custom.thing', 'toString', '__proto__', 'constructor', 'Connection.established', '']) {
      expect(isProtocolEventType(t)).toBe(false);
      expect(isDomainEventType(t)).toBe(false);
    }
  });

  it('every seed type matches the event type grammar', () => {
    for (const t of [...SEED_PROTOCOL_TYPES, ...SEED_DOMAIN_TYPES]) expect(eventTypeSchema.safeParse(t).success).toBe(true);
  });
});

describe('event type grammar (custom types)', () => {
  it.each(['a', 'order.created', 'order_created', 'order-created', 'v2.thing', 'a'.repeat(100)])('accepts %s', (t) => {
    expect(eventTypeSchema.safeParse(t).success).toBe(true);
  });
  it.each(['', 'Order.created', 'ORDER', '1order', '.order', '-order', 'order created', 'order/created', 'order:created', 'ordér', 'a'.repeat(101), 'order\n'])(
    'refuses %j',
    (t) => {
      expect(eventTypeSchema.safeParse(t).success).toBe(false);
    },
  );
});

type Case = [label: string, payload: unknown, path?: string];

/** For each domain type: valid payloads (minimal, full, with extra fields) and invalid ones with the offending path. */
const cases: Record<DomainEventType, { valid: Case[]; invalid: Case[] }> = {
  tool_call_start: {
    valid: [
      ['minimal', { toolCallId: 'tc1', toolName: 'search' }],
      ['full', { toolCallId: 'tc1', toolName: 'search', arguments: { q: 'x', n: 3 }, agentId: 'a1', startedAt: '2026-11-22T10:00:00Z' }],
      ['epoch startedAt', { toolCallId: 'tc1', toolName: 'search', startedAt: 1_763_800_000_000 }],
      ['extra application field', { toolCallId: 'tc1', toolName: 'search', traceId: 't-9' }],
    ],
    invalid: [
      ['missing toolCallId', { toolName: 'search' }, 'toolCallId'],
      ['missing toolName', { toolCallId: 'tc1' }, 'toolName'],
      ['empty toolCallId', { toolCallId: '', toolName: 'search' }, 'toolCallId'],
      ['arguments as an array', { toolCallId: 'tc1', toolName: 'search', arguments: ['x'] }, 'arguments'],
      ['arguments as a string', { toolCallId: 'tc1', toolName: 'search', arguments: 'q=x' }, 'arguments'],
      ['startedAt as a boolean', { toolCallId: 'tc1', toolName: 'search', startedAt: true }, 'startedAt'],
    ],
  },
  tool_call_result: {
    valid: [
      ['minimal', { toolCallId: 'tc1', result: null }],
      ['full', { toolCallId: 'tc1', toolName: 'search', result: { hits: [1, 2] }, durationMs: 12.5 }],
      ['scalar result', { toolCallId: 'tc1', result: 42 }],
      ['null result', { toolCallId: 'tc1', result: null }],
    ],
    invalid: [
      ['missing toolCallId', { result: 1 }, 'toolCallId'],
      // `result` may be any JSON value, null included, but it must be there
      ['missing result', { toolCallId: 'tc1' }, 'result'],
      ['numeric toolCallId', { toolCallId: 1, result: 1 }, 'toolCallId'],
      ['negative duration', { toolCallId: 'tc1', result: 1, durationMs: -1 }, 'durationMs'],
      ['string duration', { toolCallId: 'tc1', result: 1, durationMs: '12' }, 'durationMs'],
    ],
  },
  tool_call_error: {
    valid: [
      ['minimal', { toolCallId: 'tc1', error: { message: 'timed out' } }],
      ['full', { toolCallId: 'tc1', toolName: 'search', error: { message: 'timed out', code: 'TIMEOUT', stack: '…' }, retryable: true }],
    ],
    invalid: [
      ['missing error', { toolCallId: 'tc1' }, 'error'],
      ['error as a string', { toolCallId: 'tc1', error: 'timed out' }, 'error'],
      ['error without a message', { toolCallId: 'tc1', error: { code: 'TIMEOUT' } }, 'error.message'],
      ['numeric error code', { toolCallId: 'tc1', error: { message: 'x', code: 504 } }, 'error.code'],
      ['retryable as a string', { toolCallId: 'tc1', error: { message: 'x' }, retryable: 'yes' }, 'retryable'],
    ],
  },
  agent_status_update: {
    valid: [
      ...['idle', 'thinking', 'running', 'waiting', 'completed', 'error', 'offline'].map(
        (status): Case => [`status ${status}`, { agentId: 'a1', status }],
      ),
      ['with message', { agentId: 'a1', status: 'waiting', message: 'waiting for approval' }],
    ],
    invalid: [
      ['missing agentId', { status: 'idle' }, 'agentId'],
      ['empty agentId', { agentId: '', status: 'idle' }, 'agentId'],
      ['missing status', { agentId: 'a1' }, 'status'],
      ['unknown status', { agentId: 'a1', status: 'sleeping' }, 'status'],
      ['upper-case status', { agentId: 'a1', status: 'IDLE' }, 'status'],
      ['numeric message', { agentId: 'a1', status: 'idle', message: 5 }, 'message'],
    ],
  },
  workflow_state_change: {
    valid: [
      ['minimal', { workflowId: 'wf1', to: 'running' }],
      ['full', { workflowId: 'wf1', runId: 'r7', from: 'pending', to: 'running', step: 'fetch' }],
    ],
    invalid: [
      ['missing workflowId', { to: 'running' }, 'workflowId'],
      ['missing to', { workflowId: 'wf1', from: 'pending' }, 'to'],
      ['empty to', { workflowId: 'wf1', to: '' }, 'to'],
      ['numeric step', { workflowId: 'wf1', to: 'running', step: 3 }, 'step'],
    ],
  },
  provider_health_update: {
    valid: [
      ['healthy', { provider: 'openai', status: 'healthy' }],
      ['degraded with numbers', { provider: 'openai', status: 'degraded', latencyMs: 850, errorRate: 0.25 }],
      ['down, error rate 1', { provider: 'openai', status: 'down', errorRate: 1 }],
      ['error rate 0', { provider: 'openai', status: 'healthy', errorRate: 0 }],
    ],
    invalid: [
      ['missing provider', { status: 'healthy' }, 'provider'],
      ['unknown status', { provider: 'openai', status: 'ok' }, 'status'],
      ['negative latency', { provider: 'openai', status: 'healthy', latencyMs: -5 }, 'latencyMs'],
      ['error rate above 1', { provider: 'openai', status: 'down', errorRate: 1.5 }, 'errorRate'],
      ['negative error rate', { provider: 'openai', status: 'down', errorRate: -0.1 }, 'errorRate'],
      ['error rate as a percentage string', { provider: 'openai', status: 'down', errorRate: '50%' }, 'errorRate'],
    ],
  },
  system_notification: {
    valid: [
      ...['info', 'warning', 'error', 'critical'].map((level): Case => [`level ${level}`, { level, message: 'maintenance at 02:00' }]),
      ['with title', { level: 'info', message: 'x', title: 'Maintenance' }],
    ],
    invalid: [
      ['missing level', { message: 'x' }, 'level'],
      ['unknown level', { level: 'debug', message: 'x' }, 'level'],
      ['missing message', { level: 'info' }, 'message'],
      ['empty message', { level: 'info', message: '' }, 'message'],
      ['title over 500 characters', { level: 'info', message: 'x', title: 't'.repeat(501) }, 'title'],
    ],
  },
};

describe.each(SEED_DOMAIN_TYPES as DomainEventType[])('%s payload', (type) => {
  const schema = domainPayloadSchemas[type];

  it.each(cases[type].valid)('accepts %s', (_label, payload) => {
    expect(schema.safeParse(payload).success).toBe(true);
  });

  it.each(cases[type].invalid)('refuses %s', (_label, payload, path) => {
    const result = schema.safeParse(payload);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it.each([
    ['null', null],
    ['a string', 'hello'],
    ['a number', 42],
    ['an array', []],
    ['nothing', undefined],
  ])('refuses %s as the payload', (_label, payload) => {
    expect(schema.safeParse(payload).success).toBe(false);
  });

  it('keeps extra application fields (payloads are open for extension)', () => {
    const [, payload] = cases[type].valid[0]!;
    const parsed = schema.parse({ ...(payload as object), appField: { nested: true } }) as Record<string, unknown>;
    expect(parsed.appField).toEqual({ nested: true });
  });
});
