import { z } from 'zod';
import { refineStorable } from './storage-safe.js';
import { errorBodySchema } from './server-frames.js';
import { EPOCH_PATTERN } from './position.js';
import { instantSchema, MAX_HISTORY_LIMIT } from './client-frames.js';

/** Query of `GET /api/v1/channels/:channel/history`. `sinceOffset` and `sinceEpoch` go together. */
export const httpHistoryQuerySchema = z
  .strictObject({
    sinceOffset: z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    sinceEpoch: z.string().regex(EPOCH_PATTERN).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_HISTORY_LIMIT).optional(),
    /** Time range, ISO 8601: publications at or after `from` and before `to`. Not with sinceOffset. */
    from: instantSchema.optional(),
    to: instantSchema.optional(),
  })
  .refine((q) => (q.sinceOffset === undefined) === (q.sinceEpoch === undefined), {
    message: 'sinceOffset and sinceEpoch must be given together',
    path: ['sinceEpoch'],
  })
  .refine((q) => q.sinceOffset === undefined || (q.from === undefined && q.to === undefined), {
    message: 'give either sinceOffset/sinceEpoch or a time range (from/to), not both',
    path: ['sinceOffset'],
  }).superRefine(refineStorable);

export const httpErrorResponseSchema = z.object({ error: errorBodySchema });

/**
 * `GET /api/v1/status`. Anyone sees `status` and `version`; the node's details (id, engine,
 * uptime, server-wide counts) only a platform admin's bearer token: they describe every
 * tenant's traffic together.
 */
export const statusResponseSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  nodeId: z.string().optional(),
  engine: z.string().optional(),
  uptimeSeconds: z.number().optional(),
  connections: z.number().int().optional(),
  channels: z.number().int().optional(),
  /** `pglite` or `postgres`. */
  storage: z.string().optional(),
  /** False while the engine cannot reach its store (readiness is degraded meanwhile). */
  engineHealthy: z.boolean().optional(),
  /** The cluster's live nodes (with the memory engine: this node alone). */
  nodes: z.array(z.object({ nodeId: z.string(), version: z.string(), startedAt: z.number(), connections: z.number().int() })).optional(),
  /** Open connections over every live node, as they last reported (every few seconds). */
  clusterConnections: z.number().int().optional(),
});
export type StatusResponse = z.infer<typeof statusResponseSchema>;

/** Query of `GET /api/v1/channels/:channel/dead-letters`: a page of at most `limit` letters after the cursor `after` (a page's `next`). */
export const deadLetterIdSchema = z.string().regex(/^[0-9]{1,20}(-[0-9]{1,20})?$/, 'a dead-letter id (as listed)');
export const httpDeadLettersQuerySchema = z.strictObject({
  after: deadLetterIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});

/** One dead letter: an event of an acknowledged subscription that ran out of deliveries. */
export const deadLetterSchema = z.object({
  id: z.string(),
  offset: z.number().int().positive(),
  /** The event as it was published. */
  event: z.unknown(),
  reason: z.string(),
  deliveryCount: z.number().int().positive(),
  /** ISO 8601, for display. */
  deadLetteredAt: z.string(),
});
export type DeadLetterView = z.infer<typeof deadLetterSchema>;

export const deadLetterPageSchema = z.object({
  channel: z.string(),
  letters: z.array(deadLetterSchema),
  /** Pass as `after` for the next page; absent on the last page. */
  next: z.string().optional(),
});
export type DeadLetterPageView = z.infer<typeof deadLetterPageSchema>;
