import { describe, expect, it } from 'vitest';
import type { Connection } from '../../src/realtime/connection.js';
import { ConnectionTracker } from '../../src/realtime/connection-tracker.js';
import { capturingLogger, heldConnection } from '../support/records-fixtures.js';
import { uniqueId, useTestDatabase } from './support/test-databases.js';

/**
 * Heartbeat rows are written for the connections that answered a ping since the last flush,
 * learnt from the pongs themselves: the flush never walks every live connection (design rule:
 * work grows with what changed). The live-connection list here refuses to be walked.
 */
describe('ConnectionTracker heartbeats (PostgreSQL)', () => {
  const ctx = useTestDatabase('postgres');

  it('touches the rows of connections that ponged, only those, without walking the live connections', async () => {
    const { logger } = capturingLogger();
    let pong: ((connection: Connection) => void) | undefined;
    const live = {
      values: (): Iterable<Connection> => {
        throw new Error('the heartbeat flush walked every live connection');
      },
      onPong: (listener: (connection: Connection) => void) => {
        pong = listener;
      },
    };
    const tracker = new ConnectionTracker(ctx.repos.connections, live, { nodeId: uniqueId('node'), heartbeatFlushMs: 3_600_000 }, logger);
    const organizationId = uniqueId('orghb');
    const answered = heldConnection({ organizationId, userId: 'ann', sessionId: uniqueId('sess') });
    const silent = heldConnection({ organizationId, userId: 'bob', sessionId: uniqueId('sess') });
    tracker.connectionOpened(answered);
    tracker.connectionOpened(silent);
    tracker.flushState();
    await tracker.close(10_000).catch(() => undefined); // writes the rows (and stops the timers)
    const before = await ctx.repos.connections.list(organizationId);
    expect(before).toHaveLength(2);

    const again = new ConnectionTracker(ctx.repos.connections, live, { nodeId: uniqueId('node'), heartbeatFlushMs: 3_600_000 }, logger);
    await new Promise((r) => setTimeout(r, 20));
    pong!(answered);
    again.flushHeartbeats(Date.now() + 60_000);
    await again.close(10_000);
    const rows = await ctx.repos.connections.list(organizationId);
    const heartbeatOf = (userId: string) => rows.find((r) => r.userId === userId)!.lastHeartbeat.getTime();
    const initial = (userId: string) => before.find((r) => r.userId === userId)!.lastHeartbeat.getTime();
    expect(heartbeatOf('ann')).toBeGreaterThan(initial('ann'));
    expect(heartbeatOf('bob')).toBe(initial('bob'));
  });
});
