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

/**
 * SQLSTATE classes that say "the database cannot serve right now", not "this row is wrong":
 * 08 connection exception, 53 insufficient resources, 55 object not in prerequisite state
 * (lock not available), 57 operator intervention (shutdown, statement timeout = 57014),
 * 58 system error (I/O), 40 transaction rollback (serialisation failure, deadlock), XX internal.
 */
const UNAVAILABLE_SQLSTATE_CLASSES = new Set(['08', '53', '55', '57', '58', '40', 'XX']);

/**
 * SQLSTATE classes that say "this row's data cannot be stored": 22 data exception (22021 a NUL
 * byte in text, 22P05 `\u0000` or a lone surrogate in jsonb, out-of-range values), 23
 * integrity constraint violation, 54 program limit exceeded (a row too large). Anything else
 * (e.g. 42P01, a missing table) is about the statement or schema and hits every row alike:
 * splitting a batch over it would quarantine good rows, so it is retried instead.
 */
const REJECTED_SQLSTATE_CLASSES = new Set(['22', '23', '54']);

/** Node socket errors of a database that is down, restarting or unreachable. */
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/** node-postgres errors that carry no code: timeouts and lost connections. */
const UNAVAILABLE_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /query read timeout/i,
  /connection terminated/i,
  /not queryable/i,
  /connection timeout/i,
  /cannot use a pool after calling end/i,
  /client was closed/i,
  /the embedded database/i,
];

/**
 * How a storage failure should be handled: `unavailable` (connectivity, timeout, shutdown:
 * retry later, answer APIX_ERR_UNAVAILABLE), `rejected` (the database refused this data or
 * statement, e.g. SQLSTATE 22021/22P05 for a NUL character: retrying the same rows can never
 * succeed) or `unknown` (no SQLSTATE and not a known connectivity failure; treated like
 * `unavailable` by the writers, which never quarantine a row on a guess).
 */
export type StorageFailureKind = 'unavailable' | 'rejected' | 'unknown';

export function classifyStorageError(error: unknown): StorageFailureKind {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (UNAVAILABLE_NODE_CODES.has(code)) return 'unavailable';
      if (/^[0-9A-Z]{5}$/.test(code)) {
        const sqlClass = code.slice(0, 2);
        if (UNAVAILABLE_SQLSTATE_CLASSES.has(sqlClass)) return 'unavailable';
        return REJECTED_SQLSTATE_CLASSES.has(sqlClass) ? 'rejected' : 'unknown';
      }
    }
    if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test((current as Error).message))) return 'unavailable';
    current = (current as { cause?: unknown }).cause;
  }
  return 'unknown';
}

/**
 * True for failures where the database could not serve (down, stalled past the storage
 * timeout, restarting): callers answer APIX_ERR_UNAVAILABLE (retryable), never 500.
 */
export function isStorageUnavailable(error: unknown): boolean {
  return classifyStorageError(error) === 'unavailable';
}
