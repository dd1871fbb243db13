/**
 * Which channels each connection of a load-generator process subscribes to, described
 * rather than listed (so 19,000 channel names need not cross the IPC channel):
 *
 * - `shared`: every connection subscribes to `channel` (the fan-out scenario).
 * - `own`: connection `i` subscribes to `perConnection` channels of its own: `<prefix><n>`
 *   when `perConnection` is 1, else `<prefix><n>-<k>` for k < perConnection, where
 *   n = `indexOffset` + i. With prefix `user:bench-u` and a token per user in the same
 *   order, connection i subscribes to its user's private channel.
 */
export type SubscriptionPlan =
  | { readonly kind: 'shared'; readonly channel: string }
  | { readonly kind: 'own'; readonly prefix: string; readonly perConnection: number; readonly indexOffset: number };

/** APIX accepts at most this many channels in one subscribe/unsubscribe frame (MAX_CHANNELS_PER_SUBSCRIBE). */
export const CHANNELS_PER_FRAME = 100;

/** The channels connection `index` (counted within its process, publishers excluded) subscribes to. */
export function channelsFor(plan: SubscriptionPlan, index: number): string[] {
  if (plan.kind === 'shared') return [plan.channel];
  const n = plan.indexOffset + index;
  if (plan.perConnection === 1) return [`${plan.prefix}${n}`];
  return Array.from({ length: plan.perConnection }, (_, k) => `${plan.prefix}${n}-${k}`);
}

/** A list cut into subscribe frames of at most {@link CHANNELS_PER_FRAME} channels. */
export function inFrames(channels: readonly string[]): string[][] {
  const frames: string[][] = [];
  for (let i = 0; i < channels.length; i += CHANNELS_PER_FRAME) frames.push(channels.slice(i, i + CHANNELS_PER_FRAME));
  return frames;
}
