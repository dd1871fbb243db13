import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLogger,
  AuditUnavailableError,
  isSecurityRelevant,
  type AuditEntry,
  type AuditLoggerLog,
  type AuditLoggerOptions,
} from '../../src/audit/audit-logger.js';
import { AuditRepository } from '../../src/storage/audit-repository.js';
import { AuditActorType, AuditOutcome } from '../../src/storage/schema.js';
import { BACKENDS, openTestDatabase, uniqueId, waitFor, type TestDatabase } from '../storage/support/test-databases.js';

interface LogLine {
  readonly level: 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** Collects the logger's structured log lines so tests can check that failures are reported. */
function collectingLog(): AuditLoggerLog & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
    error: (fields, message) => lines.push({ level: 'error', fields, message }),
  };
}

const ordinary = (organizationId: string, i: number): AuditEntry => ({
  organizationId,
  actorType: AuditActorType.USER,
  actorId: 'user-1',
  action: 'subscription.added',
  channel: 'agent:a1',
  outcome: AuditOutcome.SUCCESS,
  details: { i },
});

const denial = (organizationId: string, i: number): AuditEntry => ({
  organizationId,
  actorType: AuditActorType.USER,
  actorId: 'user-1',
  action: 'subscription.denied',
  channel: 'agent:secret',
  outcome: AuditOutcome.DENIED,
  details: { i },
});

describe('isSecurityRelevant', () => {
  it('covers authentication failures, permission denials and admin actions', () => {
    const cases: Array<[string, AuditOutcome, boolean]> = [
      ['auth.failure', AuditOutcome.FAILURE, true],
      ['auth.refresh_reuse', AuditOutcome.DENIED, true],
      ['auth.login', AuditOutcome.SUCCESS, false],
      ['subscription.denied', AuditOutcome.DENIED, true],
      ['publish', AuditOutcome.DENIED, true],
      ['admin.api_key.created', AuditOutcome.SUCCESS, true],
      ['admin.channel.deleted', AuditOutcome.FAILURE, true],
      ['subscription.added', AuditOutcome.SUCCESS, false],
      ['connection.closed', AuditOutcome.FAILURE, false],
    ];
    for (const [action, outcome, expected] of cases) expect(isSecurityRelevant({ action, outcome }), action).toBe(expected);
  });
});

/**
 * The logger over a real AuditRepository. Storage is broken for real by renaming the
 * audit table (inserts then fail inside the database) and repaired by renaming it back.
 */
describe.each(BACKENDS)('AuditLogger over %s', (kind) => {
  let database: TestDatabase;
  let repository: AuditRepository;
  const openLoggers: AuditLogger[] = [];

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    repository = new AuditRepository(database.handle.db);
  });

  afterEach(async () => {
    await repairStorage();
    await Promise.all(openLoggers.splice(0).map((logger) => logger.close({ timeoutMs: 500 })));
  });

  afterAll(async () => {
    await database?.dispose();
  });

  let broken = false;
  async function breakStorage(): Promise<void> {
    await database.handle.db.execute(sql`ALTER TABLE audit_log RENAME TO audit_log_offline`);
    broken = true;
  }
  async function repairStorage(): Promise<void> {
    if (!broken) return;
    await database.handle.db.execute(sql`ALTER TABLE audit_log_offline RENAME TO audit_log`);
    broken = false;
  }

  function newLogger(options: AuditLoggerOptions): AuditLogger {
    const logger = new AuditLogger(repository, options);
    openLoggers.push(logger);
    return logger;
  }

  async function storedIndexes(organizationId: string): Promise<unknown[]> {
    const rows: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = await repository.query(organizationId, { order: 'oldest', limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      rows.push(...page.rows.map((r) => r.details['i']));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return rows;
  }

  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

  it('writes rows in the order they were recorded, across batches', async () => {
    const org = uniqueId('org');
    const logger = newLogger({ batchSize: 7, flushIntervalMs: 60_000, log: collectingLog() });
    for (const i of range(0, 100)) expect(logger.record(ordinary(org, i))).toBe('queued');
    await logger.flush();
    expect(await storedIndexes(org)).toEqual(range(0, 100));
    expect(logger.stats()).toMatchObject({ queued: 0, spooled: 0, written: 100, dropped: 0, failedWrites: 0 });
  });

  it('writes as soon as a batch is full, and a partial batch when the interval passes', async () => {
    const org = uniqueId('org');
    const bySize = newLogger({ batchSize: 5, flushIntervalMs: 60_000, log: collectingLog() });
    for (const i of range(0, 5)) bySize.record(ordinary(org, i));
    await waitFor(() => bySize.stats().written === 5, 5000, 'a full batch to be written');

    const byTime = newLogger({ batchSize: 1000, flushIntervalMs: 30, log: collectingLog() });
    for (const i of range(5, 8)) byTime.record(ordinary(org, i));
    await waitFor(() => byTime.stats().written === 3, 5000, 'the interval flush');
    expect(await storedIndexes(org)).toEqual(range(0, 8));
  });

  it('spools while storage is down, retries with capped backoff, then writes everything in order', async () => {
    const org = uniqueId('org');
    const log = collectingLog();
    const logger = newLogger({ batchSize: 4, flushIntervalMs: 20, initialRetryDelayMs: 10, maxRetryDelayMs: 40, log });
    await breakStorage();
    for (const i of range(0, 20)) logger.record(ordinary(org, i));
    await waitFor(() => logger.stats().failedWrites >= 4, 5000, 'repeated write failures');
    expect(logger.stats()).toMatchObject({ storageFailing: true, written: 0 });
    expect(logger.stats().spooled).toBeGreaterThan(0);
    for (const i of range(20, 30)) logger.record(ordinary(org, i));

    const failures = log.lines.filter((l) => l.level === 'error');
    expect(failures[0]!.message).toMatch(/audit write failed/);
    expect(failures[0]!.fields).toMatchObject({ attempt: 1, err: { message: expect.stringMatching(/audit_log/) } });
    // No query parameters (audit details) in the log line.
    expect(JSON.stringify(failures[0]!.fields)).not.toMatch(/subscription\.added/);
    // The shared full-jitter backoff: each wait is uniform below a ceiling that doubles up to the cap.
    const waits = failures.slice(0, 4).map((l) => l.fields['retryInMs'] as number);
    [10, 20, 40, 40].forEach((ceiling, i) => expect(waits[i]).toSatisfy((w: number) => w >= 0 && w < ceiling));

    await repairStorage();
    await waitFor(() => logger.stats().written === 30, 5000, 'the spool to drain');
    expect(await storedIndexes(org)).toEqual(range(0, 30));
    expect(logger.stats()).toMatchObject({ storageFailing: false, spooled: 0, queued: 0, dropped: 0 });
    expect(log.lines.some((l) => l.level === 'warn' && /recovered/.test(l.message))).toBe(true);
  });

  it('drops ordinary rows but refuses security rows (fail closed) once queue and spool are full', async () => {
    const org = uniqueId('org');
    const log = collectingLog();
    const logger = newLogger({
      batchSize: 5,
      maxQueued: 10,
      maxSpooled: 10,
      securityReserveRatio: 0.2,
      flushIntervalMs: 60_000,
      initialRetryDelayMs: 60_000,
      log,
    });
    await breakStorage();
    logger.record(ordinary(org, 0));
    await expect(logger.flush()).rejects.toBeInstanceOf(AuditUnavailableError);

    // The spool (10) fills, then the queue up to its security reserve (10 - 2).
    let i = 1;
    while (logger.record(ordinary(org, i)) === 'queued') i++;
    expect(i).toBe(18);
    expect(logger.stats()).toMatchObject({ spooled: 10, queued: 8, dropped: 1 });

    // The reserve still takes security rows…
    expect(logger.record(denial(org, 100))).toBe('queued');
    expect(logger.record(denial(org, 101))).toBe('queued');
    // …and then the caller is told to fail closed.
    expect(() => logger.record(denial(org, 102))).toThrow(AuditUnavailableError);
    expect(() => logger.record({ ...ordinary(org, 103), action: 'admin.api_key.created' })).toThrow(AuditUnavailableError);
    expect(logger.record(ordinary(org, 104))).toBe('dropped');
    expect(logger.stats()).toMatchObject({ dropped: 2, refused: 2 });
    expect(log.lines.filter((l) => l.level === 'error' && /security-relevant audit row refused/.test(l.message))).toHaveLength(2);
    // One warning for the burst of drops, not one per row.
    expect(log.lines.filter((l) => l.level === 'warn' && /dropped/.test(l.message))).toHaveLength(1);

    await repairStorage();
    await logger.flush();
    expect(await storedIndexes(org)).toEqual([...range(0, 18), 100, 101]);
  });

  it('close() writes what is pending, then refuses security rows and drops others', async () => {
    const org = uniqueId('org');
    const logger = newLogger({ batchSize: 100, flushIntervalMs: 60_000, log: collectingLog() });
    for (const i of range(0, 3)) logger.record(ordinary(org, i));
    expect(await logger.close()).toEqual({ written: 3, unwritten: 0 });
    expect(await storedIndexes(org)).toEqual([0, 1, 2]);
    expect(logger.record(ordinary(org, 3))).toBe('dropped');
    expect(() => logger.record(denial(org, 4))).toThrow(AuditUnavailableError);
  });

  it('close() reports and logs rows it could not write before its deadline', async () => {
    const org = uniqueId('org');
    const log = collectingLog();
    const logger = newLogger({ batchSize: 100, flushIntervalMs: 60_000, initialRetryDelayMs: 20, log });
    await breakStorage();
    for (const i of range(0, 3)) logger.record(ordinary(org, i));
    expect(await logger.close({ timeoutMs: 150 })).toEqual({ written: 0, unwritten: 3 });
    expect(log.lines.at(-1)).toMatchObject({ level: 'error', fields: { unwritten: 3 } });
    expect(log.lines.at(-1)!.message).toMatch(/lost/);
  });

  it('close() keeps its deadline when a write hangs on a locked table', async () => {
    const org = uniqueId('org');
    const logger = newLogger({ batchSize: 100, flushIntervalMs: 60_000, log: collectingLog() });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    // Another transaction holds the audit table exclusively, so the logger's insert blocks.
    const holder = database.handle.db.transaction(async (tx) => {
      await tx.execute(sql`LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE`);
      locked();
      await released;
    });
    await lockTaken;
    logger.record(ordinary(org, 0));
    const started = Date.now();
    expect(await logger.close({ timeoutMs: 200 })).toEqual({ written: 0, unwritten: 1 });
    expect(Date.now() - started).toBeLessThan(2000);
    release();
    await holder;
    // The write that was in flight at the deadline lands once the lock is gone.
    await waitFor(async () => (await storedIndexes(org)).length === 1, 5000, 'the blocked write');
  });

  it('property: whatever the outage pattern, accepted rows are stored once each, in order', async () => {
    type Step = { kind: 'record'; count: number; security: boolean } | { kind: 'break' } | { kind: 'repair' } | { kind: 'pause'; ms: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('record' as const), count: fc.integer({ min: 1, max: 12 }), security: fc.boolean() }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'break' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'repair' as const }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 15 }) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const org = uniqueId('org');
        const logger = newLogger({
          batchSize: 4,
          maxQueued: 10,
          maxSpooled: 15,
          securityReserveRatio: 0.3,
          flushIntervalMs: 5,
          initialRetryDelayMs: 2,
          maxRetryDelayMs: 8,
          log: collectingLog(),
        });
        const accepted: number[] = [];
        let next = 0;
        let refused = 0;
        let dropped = 0;
        for (const s of steps) {
          if (s.kind === 'break' && !broken) await breakStorage();
          else if (s.kind === 'repair') await repairStorage();
          else if (s.kind === 'pause') await new Promise((resolve) => setTimeout(resolve, s.ms));
          else if (s.kind === 'record') {
            for (let k = 0; k < s.count; k++) {
              const i = next++;
              try {
                const result = logger.record(s.security ? denial(org, i) : ordinary(org, i));
                if (result === 'queued') accepted.push(i);
                else dropped++;
              } catch (error) {
                expect(error).toBeInstanceOf(AuditUnavailableError);
                expect(s.security).toBe(true);
                refused++;
              }
            }
          }
        }
        await repairStorage();
        await logger.flush();
        expect(await storedIndexes(org)).toEqual(accepted);
        expect(logger.stats()).toMatchObject({ written: accepted.length, dropped, refused, queued: 0, spooled: 0 });
        await logger.close();
      }),
      { numRuns: 15 },
    );
  });

  it('bounds each row: oversized details are replaced by a marker', async () => {
    const org = uniqueId('org');
    const logger = newLogger({ batchSize: 100, flushIntervalMs: 60_000, maxDetailsBytes: 100, log: collectingLog() });
    logger.record({ ...ordinary(org, 0), details: { blob: 'x'.repeat(500) } });
    logger.record({ ...ordinary(org, 1), at: new Date('2026-01-02T03:04:05.000Z') });
    await logger.flush();
    const { rows } = await repository.query(org, { order: 'oldest' });
    expect(rows[0]!.details).toEqual({ detailsTruncated: true, detailsBytes: 511 });
    expect(rows[1]!.createdAt.toISOString()).toBe('2026-01-02T03:04:05.000Z');
  });
});

describe('AuditLogger batching under a steady trickle', () => {
  it('writes full batches while rows keep arriving, not one small INSERT after another', async () => {
    const batches: number[] = [];
    const sink = {
      insertBatch: async (rows: readonly unknown[]) => {
        batches.push(rows.length);
        // A write takes a few milliseconds, as a real INSERT does.
        await new Promise((resolve) => setTimeout(resolve, 3));
      },
    };
    const logger = new AuditLogger(sink, { batchSize: 100, flushIntervalMs: 60_000, log: collectingLog() });
    // 1,000 rows arriving 10 at a time, a millisecond apart: a write is always in flight.
    for (let i = 0; i < 100; i++) {
      for (let j = 0; j < 10; j++) logger.record(ordinary('org-trickle', i * 10 + j));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await logger.close();
    expect(batches.reduce((a, b) => a + b, 0)).toBe(1000);
    // Full batches only, except what close() wrote at the end.
    expect(batches.slice(0, -1).every((size) => size === 100)).toBe(true);
    expect(batches.length).toBeLessThanOrEqual(11);
  });
});

describe('AuditLogger per-organisation budget', () => {
  it("itemises an organisation's ordinary rows up to its budget, counts the rest into one audit.summarised row, and never budgets denials or other organisations", async () => {
    const written: Array<{ organizationId: string | null; action: string; details: Record<string, unknown> }> = [];
    const sink = { insertBatch: async (rows: readonly (typeof written)[number][]) => void written.push(...rows) };
    const logger = new AuditLogger(sink, { flushIntervalMs: 60_000, organizationRowsPerSecond: 10, organizationBurst: 20, log: collectingLog() });
    const outcomes = Array.from({ length: 50 }, (_, i) => logger.record(ordinary('org-storm', i)));
    expect(outcomes.filter((o) => o === 'queued')).toHaveLength(20);
    expect(outcomes.filter((o) => o === 'summarised')).toHaveLength(30);
    // Security-relevant rows of the same organisation are itemised whatever its budget.
    for (let i = 0; i < 5; i++) expect(logger.record(denial('org-storm', i))).toBe('queued');
    // Another organisation has a budget of its own.
    for (let i = 0; i < 20; i++) expect(logger.record(ordinary('org-quiet', i))).toBe('queued');
    expect(logger.stats().summarised).toBe(30);
    await logger.close();
    const storm = written.filter((r) => r.organizationId === 'org-storm');
    expect(storm.filter((r) => r.action === 'subscription.added')).toHaveLength(20);
    expect(storm.filter((r) => r.action === 'subscription.denied')).toHaveLength(5);
    const summaries = storm.filter((r) => r.action === 'audit.summarised');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.details).toEqual({ rows: 30, byAction: { 'subscription.added': 30 }, rowsPerSecond: 10 });
    expect(written.filter((r) => r.organizationId === 'org-quiet')).toHaveLength(20);
  });

  it('has no budget unless one is set', async () => {
    const logger = new AuditLogger({ insertBatch: async () => undefined }, { flushIntervalMs: 60_000, log: collectingLog() });
    expect(Array.from({ length: 500 }, (_, i) => logger.record(ordinary('org-any', i))).every((o) => o === 'queued')).toBe(true);
    await logger.close();
  });
});
