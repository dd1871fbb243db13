import { ApiXError } from '@apix/protocol';
import { AuditUnavailableError } from '../audit/audit-logger.js';
import { InvalidAuditCursorError } from '../storage/audit-repository.js';
import { InvalidChannelNameError } from '../storage/channel-repository.js';
import { StorageConflictError } from '../storage/storage-errors.js';

/**
 * The control plane answers only with catalogue codes: storage and audit errors that an
 * administrator can cause or must know about become the matching `ApiXError`; anything
 * else is left as is (and becomes APIX_ERR_INTERNAL at the edge).
 */
export function asApiError(error: unknown): unknown {
  if (error instanceof ApiXError) return error;
  if (error instanceof StorageConflictError) return new ApiXError('CONFLICT', error.message);
  if (error instanceof InvalidChannelNameError) return new ApiXError('CHANNEL_INVALID', error.message);
  if (error instanceof InvalidAuditCursorError) return new ApiXError('INVALID_REQUEST', 'cursor is not a nextCursor this API returned');
  if (error instanceof AuditUnavailableError) return new ApiXError('UNAVAILABLE', 'the audit trail cannot record this action right now; nothing was changed');
  return error;
}

/** Runs `work`, translating its failure with {@link asApiError}. */
export async function withApiErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asApiError(error);
  }
}
