import { ApiXError } from '@apix/protocol';
import type { StreamPosition } from './broker.js';

const EPOCH = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Malformed positions fail closed (APIX_ERR_POSITION_INVALID): a position that is not a
 * non-negative safe integer offset with a well-formed epoch is never read as "from the start"
 * or "the latest". Every broker checks `since` with this before reading.
 */
export function assertStreamPosition(since: StreamPosition): void {
  if (!Number.isSafeInteger(since.offset) || since.offset < 0 || typeof since.epoch !== 'string' || !EPOCH.test(since.epoch)) {
    throw new ApiXError('POSITION_INVALID');
  }
}
