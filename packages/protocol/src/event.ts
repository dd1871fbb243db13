import { z } from 'zod';
import { refineStorable } from './storage-safe.js';
import { channelNameSchema } from './channel-name.js';
import { domainPayloadSchemas, eventTypeSchema, isDomainEventType, isReservedEventType } from './event-types.js';

const scalar = z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]);

/**
 * Event metadata: the seed's `timestamp`, `version` and `correlation_id`, plus up to 32
 * application fields of scalar values (so filters can match on them). On publish,
 * `timestamp` and `version` may be left out; the server fills them in.
 */
/** The largest instant a JavaScript Date can hold (ms): a bigger "time" is not a time. */
export const MAX_TIMESTAMP_MS = 8_640_000_000_000_000;

export const eventMetadataInputSchema = z
  .object({
    /** The publisher's own clock. Stored as `clientTimestamp`; `timestamp` is always the server's append time. */
    timestamp: z.number().int().nonnegative().max(MAX_TIMESTAMP_MS).optional(),
    version: z.string().min(1).max(32).optional(),
    correlation_id: z.string().min(1).max(200).optional(),
  })
  .catchall(scalar)
  .refine((m) => Object.keys(m).length <= 32, 'metadata has more than 32 fields');

export const eventMetadataSchema = z
  .object({
    timestamp: z.number().int().nonnegative(),
    version: z.string().min(1).max(32),
    correlation_id: z.string().min(1).max(200).optional(),
  })
  .catchall(scalar);
export type EventMetadata = z.infer<typeof eventMetadataSchema>;

/** Checks a domain event's payload against its schema; custom types carry any JSON payload. */
function refinePayload(event: { type: string; payload?: unknown }, ctx: z.RefinementCtx): void {
  if (isReservedEventType(event.type)) {
    ctx.addIssue({
      code: 'custom',
      path: ['type'],
      message: `event type "${event.type}" is reserved for the server`,
      params: { apixError: 'EVENT_TYPE_RESERVED' },
    });
    return;
  }
  if (isDomainEventType(event.type)) {
    const result = domainPayloadSchemas[event.type].safeParse(event.payload);
    if (!result.success) {
      for (const issue of result.error.issues) {
        ctx.addIssue({ code: 'custom', path: ['payload', ...issue.path.map(String)], message: issue.message });
      }
    }
  }
}

const publishEventFields = {
  type: eventTypeSchema,
  /** Any JSON for custom types; checked against the type's schema for the seven domain types. Absent → null. */
  payload: z.unknown().optional(),
  metadata: eventMetadataInputSchema.optional(),
};

/** What a publisher sends: an event without its channel (the channel is in the frame or URL). */
export const publishEventSchema = z.strictObject(publishEventFields).superRefine(refinePayload).superRefine(refineStorable);

/** Body of `POST /api/v1/channels/:channel/events`: the same event, plus an optional idempotency key. */
export const httpPublishBodySchema = z
  .strictObject({ ...publishEventFields, idempotencyKey: z.string().min(1).max(200).optional() })
  .superRefine(refinePayload).superRefine(refineStorable);
export type HttpPublishBody = z.infer<typeof httpPublishBodySchema>;
export type PublishEvent = z.infer<typeof publishEventSchema>;

/** An event as stored and delivered: metadata is always complete. */
export const storedEventSchema = z.object({
  type: z.string(),
  payload: z.unknown(),
  metadata: eventMetadataSchema,
});
export type StoredEvent = z.infer<typeof storedEventSchema>;

/** The seed's `ApiXEventSchema`, with the payload of typed events checked. */
export const apiXEventSchema = z
  .object({
    type: eventTypeSchema,
    channel: channelNameSchema,
    payload: z.unknown(),
    metadata: z
      .object({ timestamp: z.number(), version: z.string(), correlation_id: z.string().optional() })
      .optional(),
  })
  .superRefine(refinePayload);
export type ApiXEvent = z.infer<typeof apiXEventSchema>;
