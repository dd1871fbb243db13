import type { LoggerService } from '@nestjs/common';
import type { Logger } from './logger.js';

/** Sends Nest's own messages to the one pino logger, so every line is structured JSON. */
export class NestPinoLogger implements LoggerService {
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger.child({ component: 'nest' });
  }

  log(message: unknown, context?: string): void {
    this.#logger.debug({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.#logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.#logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.#logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.#logger.trace({ context }, String(message));
  }
}
