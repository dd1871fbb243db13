import type { ErrorCode, ErrorKey } from '@apix/protocol';
import { ClientErrorCodes, ErrorCodes } from '@apix/protocol/core';

export { ClientErrorCodes };

export type ClientErrorKey = keyof typeof ClientErrorCodes;
export type ClientErrorCode = (typeof ClientErrorCodes)[ClientErrorKey]['code'];
/** Every code an `ApiXClientError` can carry that this SDK version knows. */
export type ApiXClientErrorCode = ErrorCode | ClientErrorCode;

/** The wire shape of an error (error replies, `connection.error`, `subscription.removed`). */
export interface ErrorBody {
  code: string;
  message: string;
  retryable: boolean;
  details?: Record<string, unknown> | undefined;
}

/**
 * The one error type the SDK rejects and reports with. Switch on `code`, never on
 * `message`. `retryable` says whether the same request may succeed later.
 */
export class ApiXClientError extends Error {
  /** A catalogue code; a newer server may send a code this SDK does not list, so it stays open. */
  readonly code: ApiXClientErrorCode | (string & {});
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(body: ErrorBody, options?: { cause?: unknown }) {
    super(body.message, options);
    this.name = 'ApiXClientError';
    this.code = body.code;
    this.retryable = body.retryable;
    this.details = body.details;
  }

  /** An error the server sent. */
  static fromBody(body: ErrorBody): ApiXClientError {
    return new ApiXClientError(body);
  }

  /** An error from the protocol catalogue, raised on the client (e.g. a channel name refused before sending). */
  static protocol(key: ErrorKey, message?: string, details?: Record<string, unknown>): ApiXClientError {
    const def = ErrorCodes[key];
    return new ApiXClientError({ code: def.code, message: message ?? def.message, retryable: def.retryable, details });
  }

  /** A client-only error (see {@link ClientErrorCodes}). */
  static client(key: ClientErrorKey, message?: string, details?: Record<string, unknown>, cause?: unknown): ApiXClientError {
    const def = ClientErrorCodes[key];
    return new ApiXClientError(
      { code: def.code, message: message ?? def.message, retryable: def.retryable, details },
      cause === undefined ? undefined : { cause },
    );
  }

  /** The same error with more details (e.g. the idempotency key a caller needs to retry safely). */
  withDetails(details: Record<string, unknown>): ApiXClientError {
    return new ApiXClientError(
      { code: this.code, message: this.message, retryable: this.retryable, details: { ...this.details, ...details } },
      this.cause === undefined ? undefined : { cause: this.cause },
    );
  }
}

export function isApiXClientError(value: unknown): value is ApiXClientError {
  return value instanceof ApiXClientError;
}

/** Whether `value` is an ApiXClientError with this code. */
export function hasErrorCode(value: unknown, code: ApiXClientErrorCode): boolean {
  return value instanceof ApiXClientError && value.code === code;
}

/** Wraps anything thrown into an ApiXClientError so listeners and callers see one type. */
export function toClientError(value: unknown, fallback: ClientErrorKey = 'CONNECTION_LOST'): ApiXClientError {
  if (value instanceof ApiXClientError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return ApiXClientError.client(fallback, message, undefined, value);
}
