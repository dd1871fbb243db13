import { monotonicNow } from '../support/monotonic-clock.js';

/** Something with entries that come due (an acknowledged subscription's unacked window). */
export interface RetryTarget {
  /** Its earliest due time came; it handles what is due and arms again for the next. */
  onDue(): void;
}

/**
 * The node's redelivery clock (ADR 0035 step 4, ADR 0038): one timer per subscription, for
 * its earliest due entry, never one per entry — 10,000 unacked events of one subscriber cost
 * one timer. Times are monotonic ms (support/monotonic-clock.ts): a wall-clock step neither
 * fires every redelivery at once nor holds them for an hour.
 *
 * Invariant: a target has at most one timer, set for the earliest time it was armed for and
 * not yet fired; `arm` with a later time than the armed one does nothing.
 */
export class RetryManager {
  readonly #timers = new Map<RetryTarget, { dueAt: number; timer: NodeJS.Timeout }>();
  readonly #now: () => number;

  constructor(now: () => number = monotonicNow) {
    this.#now = now;
  }

  /** Targets with a timer set (a gauge: it returns to 0 when nothing is unacked). */
  get armed(): number {
    return this.#timers.size;
  }

  /** Makes sure `target.onDue` runs at `dueAt` (monotonic ms) or earlier. */
  arm(target: RetryTarget, dueAt: number): void {
    const current = this.#timers.get(target);
    if (current && current.dueAt <= dueAt) return;
    if (current) clearTimeout(current.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(target);
      target.onDue();
    }, Math.max(0, Math.ceil(dueAt - this.#now())));
    // Redelivery never keeps a process alive on its own (shutdown closes the subscriptions).
    timer.unref();
    this.#timers.set(target, { dueAt, timer });
  }

  disarm(target: RetryTarget): void {
    const current = this.#timers.get(target);
    if (!current) return;
    clearTimeout(current.timer);
    this.#timers.delete(target);
  }

  close(): void {
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
