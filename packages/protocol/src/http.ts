import { z } from 'zod';
import { errorBodySchema } from './server-frames.js';
import { EPOCH_PATTERN } from './position.js';
import { MAX_HISTORY_LIMIT } from './client-frames.js';

/** Query of `GET /api/v1/channels/:channel/history`. `sinceOffset` and `sinceEpoch` go together. */
export const httpHistoryQuerySchema = z
  .strictObject({
    sinceOffset: z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    sinceEpoch: z.string().regex(EPOCH_PATTERN).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_HISTORY_LIMIT).optional(),
  })
  .refine((q) => (q.sinceOffset === undefined) === (q.sinceEpoch === undefined), {
    message: 'sinceOffset and sinceEpoch must be given together',
    path: ['sinceEpoch'],
  });

export const httpErrorResponseSchema = z.object({ error: errorBodySchema });

export const statusResponseSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  nodeId: z.string(),
  engine: z.string(),
  uptimeSeconds: z.number(),
  connections: z.number().int(),
  channels: z.number().int(),
});
export type StatusResponse = z.infer<typeof statusResponseSchema>;
