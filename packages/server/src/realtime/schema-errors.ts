import { ApiXError, ErrorCodes, type ErrorKey } from '@apix/protocol';
import type { z } from 'zod';

const MAX_REPORTED_ISSUES = 5;

/**
 * Turns a zod failure into the catalogue error to answer with. An issue may name its own
 * code (`params.apixError`, e.g. a reserved event type); otherwise `keyForPath` picks one
 * from where the first issue is (a channel, a position), falling back to `fallback`.
 */
export function schemaError(error: z.ZodError, fallback: ErrorKey, keyForPath: (first: PropertyKey | undefined) => ErrorKey | undefined = () => undefined): ApiXError {
  const issues = error.issues.slice(0, MAX_REPORTED_ISSUES).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  const named = error.issues
    .map((i) => (i as { params?: { apixError?: unknown } }).params?.apixError)
    .find((k): k is ErrorKey => typeof k === 'string' && Object.hasOwn(ErrorCodes, k));
  const key = named ?? keyForPath(error.issues[0]?.path[0]) ?? fallback;
  const message = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return new ApiXError(key, message, { issues });
}
