import { fullJitterBackoffMs } from './backoff.js';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../logging/logger.js';
import { classifyStorageError, describeStorageError } from '../storage/storage-errors.js';
import { BatchWriteInterrupted, writeIsolatingPoison } from './poison-isolation.js';

export interface SerialWriteQueueOptions {
  /** Writes waiting at most; past this the oldest is dropped (and counted). */
  readonly maxPending: number;
  readonly initialRetryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /**
   * A write that keeps failing for a reason that is neither "storage unavailable" nor "row
   * refused" is dropped after this many attempts. Outages are retried for as long as they
   * last (memory stays bounded by `maxPending`).
   */
  readonly maxAttempts?: number;
  /** Called once each time a write succeeds after one or more failed attempts (storage is back). */
  readonly onRecovered?: () => void;
}

/** One batch of rows for one table, written by one all-or-nothing call. */
export interface BatchWrite<T> {
  /** For logs and metrics, e.g. `connections.status`. */
  readonly name: string;
  /** The table the rows go to (named in the quarantine log line). */
  readonly table: string;
  readonly rows: readonly T[];
  /** Writes the rows in one statement or transaction: all or nothing. */
  readonly write: (rows: readonly T[]) => Promise<unknown>;
  /** The organisation a row belongs to: the only tenant a quarantine log line may name. */
  readonly organizationOf: (row: T) => string | null;
}

interface Pending {
  readonly job: BatchWrite<unknown>;
  rows: readonly unknown[];
  attempts: number;
}

export interface SerialWriteQueueStats {
  readonly pending: number;
  readonly dropped: number;
  readonly failures: number;
  /** Rows the database refused (e.g. a NUL character): isolated, counted, logged, not retried. */
  readonly quarantined: number;
}

/**
 * Runs background batch writes one at a time, in the order they were pushed, off the hot
 * path: `push` never waits. While storage is unavailable the head batch is retried with
 * capped exponential backoff and full jitter (monotonic timers) and later batches wait behind
 * it, so order holds. A row the database refuses is isolated by splitting its batch (see
 * `writeIsolatingPoison`): the other rows are written, in order, and the refused row is
 * quarantined with a counter and a log line naming only its own organisation and table.
 */
export class SerialWriteQueue {
  readonly #pending: Pending[] = [];
  readonly #options: Required<Omit<SerialWriteQueueOptions, 'onRecovered'>>;
  readonly #onRecovered: (() => void) | undefined;
  #failing = false;
  readonly #logger: Logger;
  #running: Promise<void> | undefined;
  #dropped = 0;
  #failures = 0;
  #quarantined = 0;

  constructor(options: SerialWriteQueueOptions, logger: Logger) {
    const { onRecovered, ...rest } = options;
    this.#options = { initialRetryDelayMs: 100, maxRetryDelayMs: 5_000, maxAttempts: 8, ...rest };
    this.#onRecovered = onRecovered;
    this.#logger = logger;
  }

  get stats(): SerialWriteQueueStats {
    return { pending: this.#pending.length, dropped: this.#dropped, failures: this.#failures, quarantined: this.#quarantined };
  }

  push<T>(job: BatchWrite<T>): void {
    if (job.rows.length === 0) return;
    this.#pending.push({ job: job as BatchWrite<unknown>, rows: job.rows, attempts: 0 });
    if (this.#pending.length > this.#options.maxPending) {
      const dropped = this.#pending.shift()!;
      this.#dropped++;
      this.#logger.warn({ write: dropped.job.name, rows: dropped.rows.length, dropped: this.#dropped }, 'background write queue full: oldest write dropped');
    }
    this.#running ??= this.#drain().finally(() => (this.#running = undefined));
  }

  /**
   * Resolves when everything pushed so far was written (or given up on), or after `timeoutMs`
   * (shutdown must not hang on a database that is down); what is left then is logged.
   */
  async drain(timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.#running && performance.now() < deadline) {
      const remaining = deadline - performance.now();
      await Promise.race([this.#running, new Promise((resolve) => setTimeout(resolve, Math.min(remaining, 2 ** 31 - 1)).unref())]);
    }
    if (this.#pending.length > 0) this.#logger.error({ pending: this.#pending.length }, 'background writes not completed before the deadline');
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const next = this.#pending[0]!;
      const { job } = next;
      try {
        await writeIsolatingPoison(next.rows, job.write, ({ row, reason }) => {
          this.#quarantined++;
          // Only the refused row's own organisation and table: never other tenants' data, never values.
          this.#logger.error(
            { write: job.name, table: job.table, organizationId: job.organizationOf(row), reason, quarantined: this.#quarantined },
            'row refused by storage: quarantined, the rest of its batch written',
          );
        });
        this.#pending.shift();
        if (this.#failing) {
          this.#failing = false;
          this.#logger.warn({ write: job.name }, 'storage answers again: background writes resumed');
          this.#onRecovered?.();
        }
      } catch (error) {
        const cause = error instanceof BatchWriteInterrupted ? error.cause : error;
        if (error instanceof BatchWriteInterrupted) next.rows = next.rows.slice(error.done);
        this.#failures++;
        this.#failing = true;
        next.attempts++;
        const unavailable = classifyStorageError(cause) === 'unavailable';
        const giveUp = !unavailable && next.attempts >= this.#options.maxAttempts;
        this.#logger.error({ err: describeStorageError(cause), write: job.name, rows: next.rows.length, attempt: next.attempts, giveUp }, 'background write failed');
        if (giveUp) {
          this.#pending.shift();
          this.#dropped++;
          continue;
        }
        const delayMs = fullJitterBackoffMs(next.attempts - 1, { baseMs: this.#options.initialRetryDelayMs, factor: 2, capMs: this.#options.maxRetryDelayMs });
        await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      }
    }
  }
}
