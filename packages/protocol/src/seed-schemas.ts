import { z } from 'zod';
import { channelNameSchema } from './channel-name.js';
import { clientTypeSchema } from './enums.js';
import { subscriptionFiltersSchema } from './filters.js';

/**
 * The seed's connection and subscription contracts, kept under their seed names so a reader
 * of the spec finds them. On the wire they appear as the `connect` and `subscribe` frames
 * (see client-frames.ts); these describe a connection's state as the server records it.
 */
export const apiXConnectionSchema = z.object({
  sessionId: z.string(),
  clientType: clientTypeSchema,
  authentication: z.object({
    token: z.string(),
    organizationId: z.string().optional(),
  }),
  subscriptions: z.array(channelNameSchema),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type ApiXConnection = z.infer<typeof apiXConnectionSchema>;

export const apiXSubscriptionSchema = z.object({
  channels: z.array(channelNameSchema),
  /** The seed's free-form record, given a documented meaning: see filters.ts. */
  filters: subscriptionFiltersSchema.optional(),
  acknowledgment: z.boolean().default(false),
});
export type ApiXSubscription = z.infer<typeof apiXSubscriptionSchema>;
