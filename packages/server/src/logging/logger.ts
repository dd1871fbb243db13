import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths never written to logs. Tokens are bearer credentials: a log line must not be
 * enough to impersonate anyone.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'refreshToken',
  '*.refreshToken',
  'privateKey',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { service: 'apix' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
