import { z } from 'zod';
import { EPOCH_PATTERN } from './wire-constants.js';

/**
 * A position in a channel's stream. `offset` counts publications from 1 (0 means "before the
 * first"); `epoch` names one incarnation of the stream: when the store loses a stream and
 * starts again, the epoch changes, so an old offset can never be mistaken for a new one.
 */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

export { EPOCH_PATTERN };

export const streamPositionSchema = z.strictObject({
  offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  epoch: z.string().regex(EPOCH_PATTERN, 'epoch must be 1-64 of A-Z a-z 0-9 _ -'),
});
