/**
 * Drizzle wraps driver errors in a `DrizzleQueryError` whose message repeats the SQL and
 * every parameter (password hashes, token hashes, audit details). These helpers look
 * through the wrapper at the driver's error (node-postgres and PGlite both expose the
 * PostgreSQL SQLSTATE as `code`) so callers can branch on it and log it without the
 * parameters.
 */

/** SQLSTATE of a violated UNIQUE or PRIMARY KEY constraint. */
const UNIQUE_VIOLATION = '23505';

/** A row with the same unique key already exists (e.g. a second user with the same email). */
export class StorageConflictError extends Error {
  override name = 'StorageConflictError';
  constructor(
    message: string,
    /** Name of the violated constraint, when the driver reports it. */
    readonly constraint: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

interface DriverErrorFields {
  readonly message: string;
  readonly code?: string;
  readonly constraint?: string;
}

/**
 * The first error of a `cause` chain that carries a SQLSTATE (`code`); failing that, the
 * innermost error, whose message is the driver's own rather than Drizzle's query dump.
 */
export function driverErrorOf(error: unknown): DriverErrorFields {
  let current: unknown = error;
  let innermost: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const fields = current as Error & { code?: unknown; constraint?: unknown };
    if (typeof fields.code === 'string') {
      return {
        message: fields.message,
        code: fields.code,
        ...(typeof fields.constraint === 'string' ? { constraint: fields.constraint } : {}),
      };
    }
    innermost = current;
    current = fields.cause;
  }
  return { message: innermost instanceof Error ? innermost.message : String(innermost) };
}

export function isUniqueViolation(error: unknown): boolean {
  return driverErrorOf(error).code === UNIQUE_VIOLATION;
}

/**
 * Loggable description of a storage failure: the driver's message and SQLSTATE, never the
 * query parameters.
 */
export function describeStorageError(error: unknown): { message: string; code?: string } {
  const { message, code } = driverErrorOf(error);
  return code === undefined ? { message } : { message, code };
}

/** Rethrows a unique violation as a {@link StorageConflictError}; anything else unchanged. */
export function rethrowConflict(error: unknown, message: string): never {
  if (isUniqueViolation(error)) {
    throw new StorageConflictError(message, driverErrorOf(error).constraint, { cause: error });
  }
  throw error;
}
