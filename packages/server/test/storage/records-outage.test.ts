import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogger } from '../../src/audit/audit-logger.js';
import { EventArchiver } from '../../src/channels/event-archiver.js';
import { SubscriberCounts } from '../../src/channels/subscriber-counts.js';
import type { Connection } from '../../src/realtime/connection.js';
import { ConnectionTracker } from '../../src/realtime/connection-tracker.js';
import { openDatabase, type DatabaseHandle } from '../../src/storage/database.js';
import { createRepositories, type Repositories } from '../../src/storage/repositories.js';
import { AuditActorType, AuditOutcome } from '../../src/storage/schema.js';
import { capturingLogger, heldConnection } from '../support/records-fixtures.js';
import { ThrowawayPostgres } from '../support/throwaway-postgres.js';
import { uniqueId, waitFor } from './support/test-databases.js';

const CHANNELS = ['agent:a', 'agent:b', 'agent:c'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The record writers under a steady stream of records while a throwaway PostgreSQL is stopped
 * (fast shutdown) and later frozen (SIGSTOP): afterwards every audit row and archived event is
 * there once, in order; connection rows and subscriber counts match what the node holds —
 * including a connection that went away while storage was down without its close being
 * written, which only the reconcile can fix.
 */
describe('records survive a database outage and a stall, complete and in order (throwaway PostgreSQL)', () => {
  let server: ThrowawayPostgres;
  let handle: DatabaseHandle;
  let repos: Repositories;
  let dataDir: string;

  beforeAll(async () => {
    server = await ThrowawayPostgres.start();
    dataDir = await mkdtemp(join(tmpdir(), 'apix-outage-'));
    handle = await openDatabase({ url: server.url, dataDir, timeoutMs: 1_000, maxConnections: 4 });
    repos = createRepositories(handle.db);
  }, 60_000);

  afterAll(async () => {
    await handle?.close().catch(() => undefined);
    await server?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('stop for a while, then SIGSTOP, under a stream of records', async () => {
    const org = uniqueId('org');
    const nodeId = uniqueId('node');
    for (const name of CHANNELS) await repos.channels.create(org, name);
    const { logger } = capturingLogger();
    const live = new Map<string, Connection>();
    const audit = new AuditLogger(repos.audit, { batchSize: 20, flushIntervalMs: 50, initialRetryDelayMs: 50, maxRetryDelayMs: 500, log: { warn: () => undefined, error: () => undefined } });
    const archiver = new EventArchiver(repos.events, { batchSize: 20, flushIntervalMs: 50, maxBuffered: 100_000 }, logger);
    const tracker = new ConnectionTracker(repos.connections, { values: () => live.values() }, { nodeId, heartbeatFlushMs: 60_000 }, logger);
    const counts = new SubscriberCounts(repos.channels, 100, logger);

    let sequence = 0;
    let connectionsOpened = 0;
    const closedNotified: string[] = [];
    /** One tick of traffic: an audit row, an archived event, and every third tick a connection opens or closes. */
    const tick = () => {
      const i = sequence++;
      audit.record({ organizationId: org, actorType: AuditActorType.USER, actorId: 'u1', action: 'app.tick', outcome: AuditOutcome.SUCCESS, details: { i } });
      archiver.append({ organizationId: org, channel: 'agent:a', offset: i + 1, epoch: 'e1', data: JSON.stringify({ type: 'custom.tick', payload: { i }, metadata: { timestamp: Date.now() } }) });
      if (i % 3 === 0) {
        const channels = [CHANNELS[connectionsOpened % 3]!, CHANNELS[(connectionsOpened + 1) % 3]!];
        const connection = heldConnection({ organizationId: org, sessionId: uniqueId(`s${connectionsOpened++}`), channels });
        live.set(connection.sessionId, connection);
        tracker.connectionOpened(connection);
        tracker.subscribed(connection, channels as never);
        counts.subscribed(connection, channels as never);
      } else if (i % 7 === 0 && live.size > 2) {
        const [sessionId, connection] = live.entries().next().value as [string, Connection];
        live.delete(sessionId);
        (connection as { closed: boolean }).closed = true;
        counts.unsubscribed(connection, [...connection.subscriptions.keys()]);
        tracker.connectionClosed(connection, 1000);
        closedNotified.push(sessionId);
      }
    };
    /** Runs the stream of records while `outage` happens, then stops it. */
    const underTraffic = async (outage: () => Promise<void>) => {
      let streaming = true;
      const stream = (async () => {
        while (streaming) {
          tick();
          await sleep(20);
        }
      })();
      await sleep(1_000);
      await outage();
      await sleep(1_000);
      streaming = false;
      await stream;
    };

    /** Connections whose close never reached the tracker (as when a write is dropped): only the reconcile marks them. */
    const leaked: Connection[] = [];
    const leakOne = () => {
      const [sessionId, connection] = live.entries().next().value as [string, Connection];
      live.delete(sessionId);
      leaked.push(connection);
    };

    /** Audit rows and archived events complete and in order; rows match what the node holds. */
    const checkRecords = async () => {
      await waitFor(async () => (await audit.flush().then(() => true, () => false)) && audit.stats().written === sequence, 30_000, 'audit rows');
      await waitFor(async () => (await archiver.flush().then(() => true, () => false)) && archiver.stats.buffered === 0, 30_000, 'archived events');
      const auditRows = await repos.audit.query(org, { order: 'oldest', limit: 1000 });
      expect(auditRows.rows.map((r) => r.details['i'])).toEqual([...Array(sequence).keys()]);
      const archived = await repos.events.range(org, 'agent:a', { since: { offset: 0, epoch: 'e1' }, limit: 1000 });
      expect(archived.map((e) => e.offset)).toEqual([...Array(sequence).keys()].map((i) => i + 1));
      expect(audit.stats()).toMatchObject({ quarantined: 0, dropped: 0 });
      expect(archiver.stats).toMatchObject({ quarantined: 0, dropped: 0 });
      tracker.flushState();
      await waitFor(async () => {
        for (const sessionId of live.keys()) if ((await repos.connections.findBySessionId(org, sessionId))?.status !== 'CONNECTED') return false;
        for (const sessionId of [...closedNotified, ...leaked.map((c) => c.sessionId)]) {
          if ((await repos.connections.findBySessionId(org, sessionId))?.status !== 'DISCONNECTED') return false;
        }
        return true;
      }, 30_000, 'connection rows to match what the node holds');
      expect(tracker.stats.quarantined).toBe(0);
    };

    /** Subscriptions per channel: of the live connections, plus (when `withLeaked`) those the node never saw end. */
    const expectedCounts = (withLeaked: boolean) => {
      const expected = new Map(CHANNELS.map((c) => [c, 0]));
      const holders = withLeaked ? [...live.values(), ...leaked] : [...live.values()];
      for (const connection of holders) for (const channel of connection.subscriptions.keys()) expected.set(channel, expected.get(channel)! + 1);
      return expected;
    };
    const storedCounts = async () => new Map(await Promise.all(CHANNELS.map(async (c) => [c, (await repos.channels.findByName(org, c))?.subscribers ?? -1] as const)));

    // 1. Stopped (fast shutdown) for 4 s: nothing can have been half-applied, so the per-node
    //    deltas alone bring the counts back exactly (the node still counts the leaked one: it never saw it end).
    await underTraffic(async () => {
      await waitFor(async () => (await repos.connections.countByStatus(org)).CONNECTED > 0, 20_000, 'rows before the outage');
      await server.stop();
      leakOne();
      await sleep(4_000);
      await server.start();
    });
    await checkRecords();
    expect(tracker.stats.reconciles).toBeGreaterThanOrEqual(1);
    await waitFor(async () => {
      await counts.flush();
      return JSON.stringify([...(await storedCounts())]) === JSON.stringify([...expectedCounts(true)]);
    }, 30_000, 'subscriber counts after the stop').catch(async (error: unknown) => {
      throw new Error(`${String(error)}: expected ${JSON.stringify([...expectedCounts(true)])}, stored ${JSON.stringify([...(await storedCounts())])}`);
    });

    // 2. Frozen (SIGSTOP) for 3 s: a statement caught mid-flight has an unknown outcome; records
    //    are still complete and in order, rows reconciled, and the counts are exact again once
    //    recomputed from the open connection rows (what start-up and the stale-node sweep run).
    await underTraffic(async () => {
      await server.pause();
      leakOne();
      await sleep(3_000);
      await server.resume();
    });
    await checkRecords();
    await waitFor(async () => (await counts.flush(), counts.stats.dirty === 0), 30_000, 'subscriber counts flushed');
    // The recompute reads the rows' channel lists: every queued row write must have landed.
    tracker.flushState();
    await waitFor(() => tracker.stats.pending === 0, 30_000, 'connection row writes');
    await repos.channels.recomputeSubscribersFromConnections();
    expect(await storedCounts()).toEqual(expectedCounts(false));

    await Promise.all([tracker.close(5_000), counts.close(), archiver.close(), audit.close({ timeoutMs: 2_000 })]);
  }, 90_000);
});
