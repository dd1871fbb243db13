import { Writable } from 'node:stream';
import type { Connection } from '../../src/realtime/connection.js';
import { createLogger, type Logger } from '../../src/logging/logger.js';

/** A real pino logger whose lines are kept, so tests can check what a failure wrote to the log. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>>; text: () => string } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', sink), lines, text: () => lines.map((l) => JSON.stringify(l)).join('\n') };
}

/**
 * A connection as the record writers see it (principal, session, metadata, subscriptions):
 * the writers only read these fields, so a plain object stands in for the socket-backed class.
 */
export function heldConnection(options: { organizationId: string; userId?: string; sessionId: string; metadata?: Record<string, unknown>; channels?: string[] }): Connection {
  return {
    id: `conn_${options.sessionId}`,
    sessionId: options.sessionId,
    principal: { kind: 'user', userId: options.userId ?? 'user-1', organizationId: options.organizationId, roles: [], scopes: [], expiresAt: Date.now() + 3_600_000 },
    clientType: 'WEB_APP',
    metadata: options.metadata ?? {},
    remoteAddress: undefined,
    subscriptions: new Map((options.channels ?? []).map((c) => [c, {}])),
    closed: false,
    lastPongAt: Date.now(),
  } as unknown as Connection;
}
