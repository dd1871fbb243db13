import { ApiXError, ErrorCodes, type ApiXErrorBody } from '@apix/protocol';
import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Logger } from '../logging/logger.js';
import { isStorageUnavailable } from '../storage/storage-errors.js';

/** Maps anything thrown in the control plane to `{ error: { code, message, retryable } }` with the catalogue's status. */
export function toErrorResponse(error: unknown): { status: number; body: { error: ApiXErrorBody } } {
  if (error instanceof ApiXError) return { status: error.httpStatus, body: { error: error.toBody() } };
  // A database that is down or stalled past STORAGE_TIMEOUT_MS: 503 retryable, not 500.
  if (isStorageUnavailable(error)) return fromCatalogue('UNAVAILABLE', 'storage is unavailable; retry');
  const status = statusOf(error);
  if (status === 413) return fromCatalogue('FRAME_TOO_LARGE', 'request body is larger than the size limit');
  if (status === 404) return fromCatalogue('NOT_FOUND');
  if (status === 415) return fromCatalogue('INVALID_REQUEST', 'send a JSON body with Content-Type: application/json');
  if (status !== undefined && status >= 400 && status < 500) {
    return fromCatalogue('INVALID_REQUEST', error instanceof Error ? error.message : undefined);
  }
  return fromCatalogue('INTERNAL');
}

function fromCatalogue(key: keyof typeof ErrorCodes, message?: string) {
  const error = new ApiXError(key, message);
  return { status: error.httpStatus, body: { error: error.toBody() } };
}

function statusOf(error: unknown): number | undefined {
  if (error instanceof HttpException) return error.getStatus();
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The control plane's only exception filter: every error leaves as a catalogue code. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const { status, body } = toErrorResponse(exception);
    if (status >= 500) this.#logger.error({ err: exception }, 'request failed');
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const retryAfterMs = body.error.code === 'APIX_ERR_RATE_LIMITED' ? body.error.details?.retryAfterMs : undefined;
    // RFC 9110: whole seconds; a client that honours it is not refused again for the same window.
    if (typeof retryAfterMs === 'number') void reply.header('Retry-After', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    void reply.status(status).send(body);
  }
}
