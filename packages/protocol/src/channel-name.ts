import { z } from 'zod';
import { CHANNEL_SEGMENT_PATTERN as SEGMENT, parseChannelName, type ChannelName } from './channel-grammar.js';

export * from './channel-grammar.js';

/** zod schema for a channel name, sharing the one grammar above. */
export const channelNameSchema = z.string().superRefine((value, ctx) => {
  const parsed = parseChannelName(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
}) as z.ZodType<ChannelName, string>;

/**
 * Organisation and user ids come from verified credentials only. They share the segment
 * alphabet, so they can never contain the "/" of the channel key.
 */
export const organizationIdSchema = z.string().regex(SEGMENT, 'organisation id must be 1-64 of A-Z a-z 0-9 _ -');
export const userIdSchema = z.string().regex(SEGMENT, 'user id must be 1-64 of A-Z a-z 0-9 _ -');

