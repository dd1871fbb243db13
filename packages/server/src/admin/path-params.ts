import { ApiXError, organizationIdSchema, userIdSchema } from '@apix/protocol';

/**
 * Ids in admin URLs. A malformed id cannot name anything that exists, so it answers 404 like
 * any unknown id (and like another tenant's id): the URL alone never tells them apart.
 */
export function organizationIdParam(value: string): string {
  if (!organizationIdSchema.safeParse(value).success) throw new ApiXError('NOT_FOUND', 'organisation not found');
  return value;
}

export function userIdParam(value: string): string {
  if (!userIdSchema.safeParse(value).success) throw new ApiXError('NOT_FOUND', 'no such member');
  return value;
}

/** API key ids are UUIDs; anything longer than an id could be is refused before it reaches SQL. */
export function apiKeyIdParam(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw new ApiXError('NOT_FOUND', 'no active API key with this id');
  return value;
}
