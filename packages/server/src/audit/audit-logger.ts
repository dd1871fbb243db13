import { LRUCache } from 'lru-cache';
import { AuditAction } from './audit-actions.js';
import { TokenBucket } from '../realtime/token-bucket.js';
import type { AuditRowInput } from '../storage/audit-repository.js';
import { AuditActorType, AuditOutcome } from '../storage/schema.js';
import { describeStorageError } from '../storage/storage-errors.js';
import { fullJitterBackoffMs } from '../support/backoff.js';
import { monotonicNow } from '../support/monotonic-clock.js';
import { BatchWriteInterrupted, writeIsolatingPoison } from '../support/poison-isolation.js';

/** Where the AuditLogger writes: `AuditRepository` implements it. */
export interface AuditSink {
  /** Writes the rows in order, all or nothing; rejects when storage is unavailable. */
  insertBatch(rows: readonly AuditRowInput[]): Promise<void>;
}

/** What a caller records. Absent fields are stored as null; `at` defaults to now. */
export interface AuditEntry {
  readonly organizationId: string | null;
  readonly actorType: AuditActorType;
  readonly actorId?: string | null;
  readonly action: string;
  readonly channel?: string | null;
  readonly target?: string | null;
  readonly outcome: AuditOutcome;
  readonly details?: Record<string, unknown>;
  readonly at?: Date;
}

/** Structured log sink; a pino logger fits. */
export interface AuditLoggerLog {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface AuditLoggerOptions {
  /** Rows per write (default 100); a full batch triggers a write at once. */
  readonly batchSize?: number;
  /** Longest a recorded row waits for a write when fewer than a batch are queued (default 1000 ms). */
  readonly flushIntervalMs?: number;
  /** Rows waiting for their first write attempt (default 10,000). */
  readonly maxQueued?: number;
  /** Rows held, in order, while storage fails (default 100,000). */
  readonly maxSpooled?: number;
  /**
   * Share of the queue kept for security-relevant rows (default 0.1): ordinary rows are
   * dropped once the queue is this close to full, so that an outage fills the queue with
   * connection chatter last, and a denial can still be recorded.
   */
  readonly securityReserveRatio?: number;
  /** Ceiling of the first retry delay after a failed write (default 100 ms; full jitter), doubling up to `maxRetryDelayMs`. */
  readonly initialRetryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /** A `details` object larger than this (as JSON) is replaced by a truncation marker (default 8 KiB). */
  readonly maxDetailsBytes?: number;
  /** Which rows must never be lost silently; default {@link isSecurityRelevant}. */
  readonly isSecurityRelevant?: (entry: AuditEntry) => boolean;
  readonly log?: AuditLoggerLog;
  /**
   * Ordinary rows (not security-relevant) one organisation may add per second, and the burst
   * above it (default 0: no budget). Past it, its rows are counted instead of itemised and
   * written as one `audit.summarised` row per organisation per flush interval: the trail stays
   * complete in counts, and one tenant's subscribe storm cannot occupy the shared database
   * (issue 7: every per-tenant resource has a cap).
   */
  readonly organizationRowsPerSecond?: number;
  readonly organizationBurst?: number;
  /** Clock, for tests. */
  readonly now?: () => Date;
}

/** Organisations whose budget is kept; the least recently active beyond this start afresh. */
const MAX_BUDGETED_ORGANIZATIONS = 10_000;

/** Counters for metrics and the status page. */
export interface AuditLoggerStats {
  readonly queued: number;
  readonly spooled: number;
  readonly written: number;
  /** Ordinary rows dropped because the queue was full. */
  readonly dropped: number;
  /** Ordinary rows past their organisation's budget: counted in `audit.summarised` rows instead. */
  readonly summarised: number;
  /** Security-relevant rows refused (the caller was told to fail closed). */
  readonly refused: number;
  readonly failedWrites: number;
  /** Rows the database refused (e.g. a NUL character): isolated from their batch, counted, logged, not retried. */
  readonly quarantined: number;
  /** True while storage is failing and rows are being spooled. */
  readonly storageFailing: boolean;
}

export interface AuditCloseReport {
  readonly written: number;
  /** Rows still unwritten when the close deadline passed (they are lost, and logged as such). */
  readonly unwritten: number;
}

/**
 * The audit trail cannot accept a security-relevant row (queue and spool are full because
 * storage has been failing). The caller must fail closed: refuse the action it was about
 * to audit.
 */
export class AuditUnavailableError extends Error {
  override name = 'AuditUnavailableError';
}

/**
 * Security-relevant actions, whose audit row must not be dropped: authentication failures,
 * permission denials, and administrative actions.
 */
export function isSecurityRelevant(entry: Pick<AuditEntry, 'action' | 'outcome'>): boolean {
  if (entry.outcome === AuditOutcome.DENIED) return true;
  if (entry.action.startsWith('admin.')) return true;
  return entry.action.startsWith('auth.') && entry.outcome !== AuditOutcome.SUCCESS;
}

/**
 * The seed's AuditLogger: batched, bounded, ordered audit writes.
 *
 * Invariants:
 * - Rows reach the sink in the order `record` was called: every spooled row was recorded
 *   before every queued row, and the single writer always drains the spool first.
 * - Memory is bounded: at most `maxQueued + maxSpooled` rows (each with bounded details).
 * - Nothing is lost silently: a dropped ordinary row is counted and logged; a
 *   security-relevant row that cannot be kept makes `record` throw.
 *
 * `record` never waits for storage; writes happen in the background (batch full, or every
 * `flushIntervalMs`), one at a time. While the sink fails, the failed batch and what
 * follows move to the spool and are retried with capped exponential backoff.
 */
export class AuditLogger {
  readonly #sink: AuditSink;
  readonly #batchSize: number;
  readonly #maxQueued: number;
  readonly #maxSpooled: number;
  readonly #securityReserve: number;
  readonly #initialRetryDelayMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #maxDetailsBytes: number;
  readonly #isSecurityRelevant: (entry: AuditEntry) => boolean;
  readonly #log: AuditLoggerLog;
  readonly #now: () => Date;
  readonly #budgets: LRUCache<string, TokenBucket> | undefined;
  readonly #budgetRate: number;
  readonly #budgetBurst: number;
  /** Rows past budget since the last summary: organisation → action → count. */
  #overBudget = new Map<string, Map<string, number>>();
  #summarised = 0;

  /** Rows not yet attempted, oldest first. */
  #queue: AuditRowInput[] = [];
  /** Rows whose write failed (and the rows behind them), oldest first; always older than the queue. */
  #spool: AuditRowInput[] = [];
  /** Rows ever accepted by `record`; `#written` catches up with it. */
  #accepted = 0;
  #written = 0;
  #dropped = 0;
  #droppedSinceLastWarning = 0;
  #refused = 0;
  #failedWrites = 0;
  #quarantined = 0;
  #consecutiveFailures = 0;
  #closed = false;

  /** The running drain, if any: the single writer. */
  #draining: Promise<void> | undefined;
  #intervalTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(sink: AuditSink, options: AuditLoggerOptions = {}) {
    this.#sink = sink;
    this.#batchSize = positiveInteger(options.batchSize ?? 100, 'batchSize');
    this.#maxQueued = positiveInteger(options.maxQueued ?? 10_000, 'maxQueued');
    this.#maxSpooled = positiveInteger(options.maxSpooled ?? 100_000, 'maxSpooled');
    const reserveRatio = options.securityReserveRatio ?? 0.1;
    if (!(reserveRatio >= 0 && reserveRatio < 1)) throw new RangeError('securityReserveRatio must be in [0, 1)');
    this.#securityReserve = Math.floor(this.#maxQueued * reserveRatio);
    this.#initialRetryDelayMs = positiveInteger(options.initialRetryDelayMs ?? 100, 'initialRetryDelayMs');
    this.#maxRetryDelayMs = Math.max(this.#initialRetryDelayMs, options.maxRetryDelayMs ?? 30_000);
    this.#maxDetailsBytes = positiveInteger(options.maxDetailsBytes ?? 8 * 1024, 'maxDetailsBytes');
    this.#isSecurityRelevant = options.isSecurityRelevant ?? isSecurityRelevant;
    this.#log = options.log ?? stderrLog;
    this.#now = options.now ?? (() => new Date());
    const flushIntervalMs = positiveInteger(options.flushIntervalMs ?? 1000, 'flushIntervalMs');
    this.#budgetRate = options.organizationRowsPerSecond ?? 0;
    this.#budgetBurst = options.organizationBurst ?? Math.max(1, this.#budgetRate * 2);
    this.#budgets = this.#budgetRate > 0 ? new LRUCache({ max: MAX_BUDGETED_ORGANIZATIONS }) : undefined;
    this.#intervalTimer = setInterval(() => {
      this.#summarise();
      // While storage fails, the retry timer (with its backoff) alone decides when to write.
      if (this.#consecutiveFailures === 0) void this.#startDrain();
    }, flushIntervalMs);
    // Audit buffering must never keep a finished process alive; shutdown calls close().
    this.#intervalTimer.unref();
  }

  /**
   * Queues one row. Returns `'queued'`, or `'dropped'` for an ordinary row that did not
   * fit (counted and logged). Throws {@link AuditUnavailableError} for a security-relevant
   * row that did not fit, or after `close()`: the caller must refuse the action.
   */
  record(entry: AuditEntry): 'queued' | 'dropped' | 'summarised' {
    const securityRelevant = this.#isSecurityRelevant(entry);
    if (this.#closed) return this.#reject(entry, securityRelevant, 'the audit logger is closed');
    if (!securityRelevant && entry.organizationId !== null && !this.#withinBudget(entry.organizationId)) {
      let counts = this.#overBudget.get(entry.organizationId);
      if (!counts) this.#overBudget.set(entry.organizationId, (counts = new Map()));
      counts.set(entry.action, (counts.get(entry.action) ?? 0) + 1);
      this.#summarised++;
      return 'summarised';
    }
    return this.#enqueue(entry, securityRelevant);
  }

  #enqueue(entry: AuditEntry, securityRelevant: boolean): 'queued' | 'dropped' {
    if (this.#consecutiveFailures > 0) this.#spill();
    const free = this.#maxQueued - this.#queue.length;
    const fits = securityRelevant ? free > 0 : free > this.#securityReserve;
    if (!fits) return this.#reject(entry, securityRelevant, 'the audit queue is full (storage unavailable)');
    this.#queue.push(this.#toRow(entry));
    this.#accepted++;
    if (this.#queue.length >= this.#batchSize && this.#consecutiveFailures === 0) void this.#startDrain('full-batches');
    return 'queued';
  }

  /**
   * Writes every row recorded before this call, now (ignoring any retry backoff). Rejects
   * with {@link AuditUnavailableError} if a write fails; the rows stay spooled and the
   * background retry continues.
   */
  async flush(): Promise<void> {
    // Rows are written (or quarantined) in the order they were accepted, so "all rows accepted
    // so far are done" is exactly "written + quarantined has reached accepted".
    const target = this.#accepted;
    while (this.#written + this.#quarantined < target) {
      if (this.#draining !== undefined) {
        await this.#draining;
        continue;
      }
      const failuresBefore = this.#failedWrites;
      this.#cancelRetry();
      await this.#startDrain();
      if (this.#failedWrites !== failuresBefore) {
        throw new AuditUnavailableError('audit storage is unavailable; rows remain spooled');
      }
    }
  }

  /**
   * Stops accepting rows and writes what is pending, retrying until `timeoutMs` (default
   * 5000) passes — also when a write hangs. Rows still unwritten then are reported (and
   * logged) as lost; a write still in flight at the deadline may yet land.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<AuditCloseReport> {
    this.#summarise();
    this.#closed = true;
    clearInterval(this.#intervalTimer);
    this.#intervalTimer = undefined;
    const deadline = monotonicNow() + (options.timeoutMs ?? 5000);
    for (;;) {
      const remaining = deadline - monotonicNow();
      if (remaining <= 0) break;
      const outcome = await settleWithin(this.flush(), remaining);
      if (outcome === 'done' || outcome === 'timeout') break;
      const wait = Math.min(this.#retryDelay(), deadline - monotonicNow());
      if (wait <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    this.#cancelRetry();
    const unwritten = this.#queue.length + this.#spool.length;
    if (unwritten > 0) {
      this.#log.error(
        { unwritten, spooled: this.#spool.length, queued: this.#queue.length },
        'audit rows lost at shutdown: storage unavailable',
      );
    }
    return { written: this.#written, unwritten };
  }

  stats(): AuditLoggerStats {
    return {
      queued: this.#queue.length,
      spooled: this.#spool.length,
      written: this.#written,
      dropped: this.#dropped,
      summarised: this.#summarised,
      refused: this.#refused,
      failedWrites: this.#failedWrites,
      quarantined: this.#quarantined,
      storageFailing: this.#consecutiveFailures > 0,
    };
  }

  #withinBudget(organizationId: string): boolean {
    if (!this.#budgets) return true;
    let bucket = this.#budgets.get(organizationId);
    if (!bucket) this.#budgets.set(organizationId, (bucket = new TokenBucket(this.#budgetRate, this.#budgetBurst)));
    return bucket.tryTake();
  }

  /** One `audit.summarised` row per organisation that went past its budget since the last call. */
  #summarise(): void {
    if (this.#overBudget.size === 0) return;
    const overBudget = this.#overBudget;
    this.#overBudget = new Map();
    for (const [organizationId, counts] of overBudget) {
      let rows = 0;
      for (const count of counts.values()) rows += count;
      this.#enqueue(
        {
          organizationId,
          actorType: AuditActorType.SYSTEM,
          action: AuditAction.AUDIT_SUMMARISED,
          outcome: AuditOutcome.SUCCESS,
          details: { rows, byAction: Object.fromEntries(counts), rowsPerSecond: this.#budgetRate },
        },
        false,
      );
    }
  }

  #reject(entry: AuditEntry, securityRelevant: boolean, reason: string): 'dropped' {
    if (securityRelevant) {
      this.#refused++;
      this.#log.error(
        { action: entry.action, organizationId: entry.organizationId, outcome: entry.outcome, ...this.#sizes() },
        `security-relevant audit row refused: ${reason}`,
      );
      throw new AuditUnavailableError(`cannot record audit row "${entry.action}": ${reason}`);
    }
    this.#dropped++;
    // One warning per burst of drops (the first after a successful write), not one per row.
    if (this.#droppedSinceLastWarning++ === 0) {
      this.#log.warn({ action: entry.action, dropped: this.#dropped, ...this.#sizes() }, `audit row dropped: ${reason}`);
    }
    return 'dropped';
  }

  #toRow(entry: AuditEntry): AuditRowInput {
    return {
      organizationId: entry.organizationId,
      actorType: entry.actorType,
      actorId: entry.actorId ?? null,
      action: entry.action,
      channel: entry.channel ?? null,
      target: entry.target ?? null,
      outcome: entry.outcome,
      details: this.#boundedDetails(entry.details),
      createdAt: entry.at ?? this.#now(),
    };
  }

  /** Keeps memory bounded per row: oversized details are replaced by a marker with their size. */
  #boundedDetails(details: Record<string, unknown> | undefined): Record<string, unknown> {
    if (details === undefined) return {};
    let json: string;
    try {
      json = JSON.stringify(details);
    } catch {
      return { detailsUnserializable: true };
    }
    if (Buffer.byteLength(json) <= this.#maxDetailsBytes) return JSON.parse(json) as Record<string, unknown>;
    return { detailsTruncated: true, detailsBytes: Buffer.byteLength(json) };
  }

  /** While storage fails, moves the oldest queued rows to the spool's tail (order kept). */
  #spill(): void {
    const room = this.#maxSpooled - this.#spool.length;
    if (room <= 0 || this.#queue.length === 0) return;
    const moved = this.#queue.splice(0, room);
    for (const row of moved) this.#spool.push(row);
  }

  /**
   * `until-empty` (interval tick, flush, retry) writes everything queued; `full-batches` (a
   * batch filled up) writes only full batches and leaves the remainder for the next tick. Without
   * that distinction a busy server wrote a trickle of ~10-row INSERTs back to back, each a
   * statement the database and this process pay for in full (630 INSERTs for 3,000 connects).
   */
  #startDrain(mode: 'until-empty' | 'full-batches' = 'until-empty'): Promise<void> {
    this.#draining ??= this.#drain(mode).finally(() => {
      this.#draining = undefined;
    });
    return this.#draining;
  }

  /** The single writer: spool first, then queue, one batch at a time, until empty or a write fails. */
  async #drain(mode: 'until-empty' | 'full-batches'): Promise<void> {
    for (;;) {
      const source = this.#spool.length > 0 ? this.#spool : this.#queue;
      if (source.length === 0) return;
      if (mode === 'full-batches' && source === this.#queue && source.length < this.#batchSize) return;
      const batch = source.slice(0, this.#batchSize);
      try {
        // A row the database refuses is isolated: the rest of the batch is written, in order.
        await writeIsolatingPoison(
          batch,
          async (rows) => {
            await this.#sink.insertBatch(rows);
            this.#written += rows.length;
          },
          ({ row, reason }) => {
            this.#quarantined++;
            // Only the row's own organisation and the table: never its details, never other tenants' rows.
            this.#log.error({ table: 'audit_log', organizationId: row.organizationId, action: row.action, reason, quarantined: this.#quarantined }, 'audit row refused by storage: quarantined');
          },
        );
      } catch (error) {
        // Only the writer removes rows from the head, so the head is still `batch`: drop what is done.
        const done = error instanceof BatchWriteInterrupted ? error.done : 0;
        source.splice(0, done);
        this.#onWriteFailed(batch.length - done, error instanceof BatchWriteInterrupted ? error.cause : error);
        return;
      }
      source.splice(0, batch.length);
      if (this.#consecutiveFailures > 0) {
        this.#log.warn({ failedAttempts: this.#consecutiveFailures, ...this.#sizes() }, 'audit storage recovered; writing spooled rows');
      }
      this.#consecutiveFailures = 0;
      this.#droppedSinceLastWarning = 0;
    }
  }

  #onWriteFailed(batchLength: number, error: unknown): void {
    this.#failedWrites++;
    this.#consecutiveFailures++;
    // When the failed batch came from the queue, the spool was empty (it is always drained
    // first): spilling moves the batch, and the rows behind it, to the spool in order.
    this.#spill();
    const retryInMs = this.#retryDelay();
    this.#log.error(
      { err: describeStorageError(error), batchRows: batchLength, attempt: this.#consecutiveFailures, retryInMs, ...this.#sizes() },
      'audit write failed; rows kept in the spool',
    );
    this.#cancelRetry();
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#startDrain();
    }, retryInMs);
    this.#retryTimer.unref();
  }

  /** The shared full-jitter backoff (support/backoff.ts): uniform below initial × 2^(failures−1), capped. */
  #retryDelay(): number {
    const attempt = Math.max(this.#consecutiveFailures - 1, 0);
    return fullJitterBackoffMs(attempt, { baseMs: this.#initialRetryDelayMs, factor: 2, capMs: this.#maxRetryDelayMs });
  }

  #cancelRetry(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #sizes(): { queued: number; spooled: number } {
    return { queued: this.#queue.length, spooled: this.#spool.length };
  }
}

/** Waits for `work` at most `ms`: whether it resolved, rejected, or is still running. */
async function settleWithin(work: Promise<void>, ms: number): Promise<'done' | 'failed' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([work.then(() => 'done' as const, () => 'failed' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

/** Default log: one JSON line on stderr, so failures are visible even without a logger. */
const stderrLog: AuditLoggerLog = {
  warn: (fields, message) => process.stderr.write(`${JSON.stringify({ level: 'warn', component: 'audit', msg: message, ...fields })}\n`),
  error: (fields, message) => process.stderr.write(`${JSON.stringify({ level: 'error', component: 'audit', msg: message, ...fields })}\n`),
};
