import type { Logger } from '../logging/logger.js';
import { monotonicNow } from './monotonic-clock.js';

export interface SerialWriteQueueOptions {
  /** Writes waiting at most; past this the oldest is dropped (and counted). */
  readonly maxPending: number;
  readonly initialRetryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /** A write that keeps failing is dropped after this many attempts. */
  readonly maxAttempts?: number;
}

/**
 * Runs background writes one at a time, in the order they were pushed, off the hot path:
 * `push` never waits. A failing write is retried with capped exponential backoff and full
 * jitter, then dropped; every failure is logged with its name and counted, never swallowed.
 */
export class SerialWriteQueue {
  readonly #pending: Array<{ name: string; write: () => Promise<unknown>; attempts: number }> = [];
  readonly #options: Required<SerialWriteQueueOptions>;
  readonly #logger: Logger;
  #running: Promise<void> | undefined;
  #dropped = 0;
  #failures = 0;

  constructor(options: SerialWriteQueueOptions, logger: Logger) {
    this.#options = { initialRetryDelayMs: 100, maxRetryDelayMs: 5_000, maxAttempts: 8, ...options };
    this.#logger = logger;
  }

  get stats(): { pending: number; dropped: number; failures: number } {
    return { pending: this.#pending.length, dropped: this.#dropped, failures: this.#failures };
  }

  push(name: string, write: () => Promise<unknown>): void {
    this.#pending.push({ name, write, attempts: 0 });
    if (this.#pending.length > this.#options.maxPending) {
      const dropped = this.#pending.shift()!;
      this.#dropped++;
      this.#logger.warn({ write: dropped.name, dropped: this.#dropped }, 'background write queue full: oldest write dropped');
    }
    this.#running ??= this.#drain().finally(() => (this.#running = undefined));
  }

  /**
   * Resolves when everything pushed so far was written (or given up on), or after `timeoutMs`
   * (shutdown must not hang on a database that is down); what is left then is logged.
   */
  async drain(timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    const deadline = monotonicNow() + timeoutMs;
    while (this.#running && monotonicNow() < deadline) {
      const remaining = deadline - monotonicNow();
      await Promise.race([this.#running, new Promise((resolve) => setTimeout(resolve, Math.min(remaining, 2 ** 31 - 1)).unref())]);
    }
    if (this.#pending.length > 0) this.#logger.error({ pending: this.#pending.length }, 'background writes not completed before the deadline');
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const next = this.#pending[0]!;
      try {
        await next.write();
        this.#pending.shift();
      } catch (error) {
        this.#failures++;
        next.attempts++;
        const giveUp = next.attempts >= this.#options.maxAttempts;
        this.#logger.error({ err: error, write: next.name, attempt: next.attempts, giveUp }, 'background write failed');
        if (giveUp) {
          this.#pending.shift();
          this.#dropped++;
          continue;
        }
        const ceiling = Math.min(this.#options.maxRetryDelayMs, this.#options.initialRetryDelayMs * 2 ** (next.attempts - 1));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling).unref());
      }
    }
  }
}
