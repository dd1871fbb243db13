import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuditLogger } from '../../src/audit/audit-logger.js';
import { EventArchiver } from '../../src/channels/event-archiver.js';
import { SubscriberCounts } from '../../src/channels/subscriber-counts.js';
import { ConnectionTracker } from '../../src/realtime/connection-tracker.js';
import { AuditActorType, AuditOutcome } from '../../src/storage/schema.js';
import { capturingLogger, heldConnection } from '../support/records-fixtures.js';
import { BACKENDS, uniqueId, useTestDatabase } from './support/test-databases.js';

/**
 * A row that storage refuses, injected BELOW the edge (straight into each batch writer, as a
 * bug or an older client could): every other row of the batch must be written, in order, the
 * bad one quarantined and counted, and the log must name only the bad row's organisation and
 * table — never another tenant's data. Real PostgreSQL and PGlite.
 */
const NUL = '\u0000';
const LONE = '\uD800';
/** Other tenants' rows carry this; it must never appear in a log line. */
const SECRET = 'tenant-b-secret';
const ROWS = 24;
const RUNS = 4;

describe.each(BACKENDS)('batch writers isolate a poison row on %s', (kind) => {
  const ctx = useTestDatabase(kind);

  it('AuditLogger: the rest is written in order; one row quarantined; the log names only its organisation', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: ROWS - 1 }),
        // text columns refuse NUL; jsonb (details) refuses NUL and unpaired surrogates, in values and keys.
        fc.constantFrom<[string, (bad: string) => object]>(
          ['target', () => ({ target: `t${NUL}x` })],
          ['actorId', () => ({ actorId: `a${NUL}` })],
          ['details value NUL', () => ({ details: { note: `n${NUL}` } })],
          ['details value surrogate', () => ({ details: { note: `n${LONE}` } })],
          ['details key', () => ({ details: { [`k${NUL}`]: 1 } })],
        ),
        async (badIndex, [, poison]) => {
          const good = uniqueId('orgb');
          const bad = uniqueId('orga');
          const { logger, text } = capturingLogger();
          const log = { warn: (f: Record<string, unknown>, m: string) => logger.warn(f, m), error: (f: Record<string, unknown>, m: string) => logger.error(f, m) };
          const audit = new AuditLogger(ctx.repos.audit, { batchSize: 100, flushIntervalMs: 10_000, log });
          for (let i = 0; i < ROWS; i++) {
            const base = { actorType: AuditActorType.USER, actorId: 'u1', action: 'app.event', outcome: AuditOutcome.SUCCESS } as const;
            if (i === badIndex) audit.record({ ...base, organizationId: bad, details: { i }, ...poison('') });
            else audit.record({ ...base, organizationId: good, details: { i, secret: SECRET } });
          }
          await audit.flush();
          const page = await ctx.repos.audit.query(good, { order: 'oldest', limit: 1000 });
          expect(page.rows.map((r) => r.details['i'])).toEqual([...Array(ROWS).keys()].filter((i) => i !== badIndex));
          expect(audit.stats()).toMatchObject({ quarantined: 1, written: ROWS - 1, spooled: 0, queued: 0 });
          const quarantine = text();
          expect(quarantine).toContain(bad);
          expect(quarantine).toContain('audit_log');
          expect(quarantine).not.toContain(SECRET);
          expect(quarantine).not.toContain(good);
          await audit.close({ timeoutMs: 1_000 });
        },
      ),
      { numRuns: RUNS },
    );
  }, 60_000);

  it('EventArchiver: the rest is archived in stream order; one event quarantined', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: ROWS - 1 }),
        fc.constantFrom<[string, (n: number) => { type: string; payload: unknown; metadata: Record<string, unknown> }]>(
          ['payload NUL', (t) => ({ type: 'custom.x', payload: { text: `p${NUL}` }, metadata: { timestamp: t } })],
          ['payload surrogate', (t) => ({ type: 'custom.x', payload: [`p${LONE}`], metadata: { timestamp: t } })],
          ['payload key', (t) => ({ type: 'custom.x', payload: { [`k${NUL}`]: 1 }, metadata: { timestamp: t } })],
          ['metadata', (t) => ({ type: 'custom.x', payload: null, metadata: { timestamp: t, app: `m${NUL}` } })],
          ['event type', (t) => ({ type: `custom${NUL}`, payload: null, metadata: { timestamp: t } })],
        ),
        async (badIndex, [, poison]) => {
          const good = uniqueId('orgb');
          const bad = uniqueId('orga');
          const { logger, text } = capturingLogger();
          const archiver = new EventArchiver(ctx.repos.events, { batchSize: 100, flushIntervalMs: 60_000, maxBuffered: 1_000 }, logger);
          for (let i = 0; i < ROWS; i++) {
            const event = i === badIndex ? poison(Date.now()) : { type: 'custom.x', payload: { i, secret: SECRET }, metadata: { timestamp: Date.now() } };
            archiver.append({ organizationId: i === badIndex ? bad : good, channel: 'agent:a1', offset: i + 1, epoch: 'e1', data: JSON.stringify(event) });
          }
          await archiver.flush();
          const rows = await ctx.repos.events.range(good, 'agent:a1', { since: { offset: 0, epoch: 'e1' }, limit: 1000 });
          expect(rows.map((r) => r.offset)).toEqual([...Array(ROWS).keys()].filter((i) => i !== badIndex).map((i) => i + 1));
          expect(archiver.stats).toEqual({ buffered: 0, dropped: 0, quarantined: 1 });
          expect(text()).toContain(bad);
          expect(text()).not.toContain(SECRET);
          expect(text()).not.toContain(good);
          await archiver.close();
        },
      ),
      { numRuns: RUNS },
    );
  }, 60_000);

  it('ConnectionTracker: every other connection row is written; the bad one quarantined', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: ROWS - 1 }),
        fc.constantFrom<[string, Record<string, unknown>]>(
          ['metadata value', { metadata: { device: `d${NUL}` } }],
          ['metadata surrogate', { metadata: { device: `d${LONE}` } }],
          ['metadata key', { metadata: { [`k${NUL}`]: 'v' } }],
          ['user id', { userId: `u${NUL}` }],
        ),
        async (badIndex, [, poison]) => {
          const good = uniqueId('orgb');
          const bad = uniqueId('orga');
          const { logger, text } = capturingLogger();
          const tracker = new ConnectionTracker(ctx.repos.connections, { values: () => [] }, { nodeId: uniqueId('node'), heartbeatFlushMs: 60_000 }, logger);
          const sessions: string[] = [];
          for (let i = 0; i < ROWS; i++) {
            const sessionId = uniqueId(`sess${i}`);
            sessions.push(sessionId);
            tracker.connectionOpened(
              i === badIndex
                ? heldConnection({ organizationId: bad, sessionId, ...poison })
                : heldConnection({ organizationId: good, sessionId, metadata: { secret: SECRET } }),
            );
          }
          await tracker.close(10_000);
          for (const [i, sessionId] of sessions.entries()) {
            const row = await ctx.repos.connections.findBySessionId(i === badIndex ? bad : good, sessionId);
            if (i === badIndex) expect(row).toBeUndefined();
            else expect(row?.status).toBe('CONNECTED');
          }
          expect(tracker.stats).toMatchObject({ quarantined: 1, pending: 0, dropped: 0 });
          expect(text()).toContain(bad);
          expect(text()).not.toContain(SECRET);
          expect(text()).not.toContain(good);
        },
      ),
      { numRuns: RUNS },
    );
  }, 60_000);

  it('SubscriberCounts: one statement per flush; the other channels are counted; the bad one quarantined', async () => {
    const good = uniqueId('orgb');
    const bad = uniqueId('orga');
    const names = Array.from({ length: 6 }, (_, i) => `agent:c${i}`);
    for (const name of names) await ctx.repos.channels.create(good, name);
    const { logger, text } = capturingLogger();
    const counts = new SubscriberCounts(ctx.repos.channels, 60_000, logger);
    counts.subscribed(heldConnection({ organizationId: good, sessionId: 's1' }), names.slice(0, 3));
    counts.subscribed(heldConnection({ organizationId: bad, sessionId: 's2' }), [`agent:x${NUL}` as never]);
    counts.subscribed(heldConnection({ organizationId: good, sessionId: 's3' }), names);
    await counts.flush();
    for (const [i, name] of names.entries()) expect((await ctx.repos.channels.findByName(good, name))?.subscribers).toBe(i < 3 ? 2 : 1);
    expect(counts.stats).toMatchObject({ quarantined: 1, failures: 0, dirty: 0 });
    expect(text()).toContain(bad);
    expect(text()).not.toContain(good);
    // Nothing left to write: a second flush changes nothing.
    counts.unsubscribed(heldConnection({ organizationId: good, sessionId: 's1' }), names.slice(0, 1));
    await counts.close();
    expect((await ctx.repos.channels.findByName(good, names[0]!))?.subscribers).toBe(1);
  }, 30_000);
});
