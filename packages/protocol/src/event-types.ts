import { z } from 'zod';
import { EVENT_TYPE_PATTERN, PRESENCE_EVENT_TYPES, PROTOCOL_EVENT_TYPES } from './wire-constants.js';

export { PRESENCE_EVENT_TYPES, PROTOCOL_EVENT_TYPES };
export type ProtocolEventType = (typeof PROTOCOL_EVENT_TYPES)[number];

export const DOMAIN_EVENT_TYPES = [
  'tool_call_start',
  'tool_call_result',
  'tool_call_error',
  'agent_status_update',
  'workflow_state_change',
  'provider_health_update',
  'system_notification',
] as const;
export type DomainEventType = (typeof DOMAIN_EVENT_TYPES)[number];

export const EVENT_TYPES = [...PROTOCOL_EVENT_TYPES, ...DOMAIN_EVENT_TYPES] as const;
export type ApiXEventType = (typeof EVENT_TYPES)[number];

const jsonRecord = z.record(z.string(), z.unknown());
const isoOrEpoch = z.union([z.string().max(64), z.number()]);

// Payloads are loose objects: the named fields are checked, extra fields pass through so
// applications can add their own without a protocol change.
export const toolCallStartPayloadSchema = z.looseObject({
  toolCallId: z.string().min(1).max(200),
  toolName: z.string().min(1).max(200),
  arguments: jsonRecord.optional(),
  agentId: z.string().max(200).optional(),
  startedAt: isoOrEpoch.optional(),
});
export const toolCallResultPayloadSchema = z.looseObject({
  toolCallId: z.string().min(1).max(200),
  toolName: z.string().max(200).optional(),
  result: z.unknown(),
  durationMs: z.number().nonnegative().optional(),
});
export const toolCallErrorPayloadSchema = z.looseObject({
  toolCallId: z.string().min(1).max(200),
  toolName: z.string().max(200).optional(),
  error: z.looseObject({ message: z.string().max(10_000), code: z.string().max(200).optional() }),
  retryable: z.boolean().optional(),
});
export const agentStatusSchema = z.enum(['idle', 'thinking', 'running', 'waiting', 'completed', 'error', 'offline']);
export const agentStatusUpdatePayloadSchema = z.looseObject({
  agentId: z.string().min(1).max(200),
  status: agentStatusSchema,
  message: z.string().max(10_000).optional(),
});
export const workflowStateChangePayloadSchema = z.looseObject({
  workflowId: z.string().min(1).max(200),
  runId: z.string().max(200).optional(),
  from: z.string().max(200).optional(),
  to: z.string().min(1).max(200),
  step: z.string().max(200).optional(),
});
export const providerHealthStatusSchema = z.enum(['healthy', 'degraded', 'down']);
export const providerHealthUpdatePayloadSchema = z.looseObject({
  provider: z.string().min(1).max(200),
  status: providerHealthStatusSchema,
  latencyMs: z.number().nonnegative().optional(),
  errorRate: z.number().min(0).max(1).optional(),
});
export const systemNotificationPayloadSchema = z.looseObject({
  level: z.enum(['info', 'warning', 'error', 'critical']),
  message: z.string().min(1).max(10_000),
  title: z.string().max(500).optional(),
});

export const domainPayloadSchemas = {
  tool_call_start: toolCallStartPayloadSchema,
  tool_call_result: toolCallResultPayloadSchema,
  tool_call_error: toolCallErrorPayloadSchema,
  agent_status_update: agentStatusUpdatePayloadSchema,
  workflow_state_change: workflowStateChangePayloadSchema,
  provider_health_update: providerHealthUpdatePayloadSchema,
  system_notification: systemNotificationPayloadSchema,
} as const satisfies Record<DomainEventType, z.ZodType>;

/** Payload type of each typed domain event. */
export type DomainPayloads = { [K in DomainEventType]: z.infer<(typeof domainPayloadSchemas)[K]> };

export { EVENT_TYPE_PATTERN };
export const eventTypeSchema = z.string().regex(EVENT_TYPE_PATTERN, 'event type must be 1-100 of a-z 0-9 _ . - starting with a letter');

export function isProtocolEventType(type: string): type is ProtocolEventType {
  return (PROTOCOL_EVENT_TYPES as readonly string[]).includes(type);
}
/** Types only the server may publish: the protocol's own and presence announcements. */
export function isReservedEventType(type: string): boolean {
  return isProtocolEventType(type) || (PRESENCE_EVENT_TYPES as readonly string[]).includes(type);
}
export function isDomainEventType(type: string): type is DomainEventType {
  return Object.hasOwn(domainPayloadSchemas, type);
}
