interface Waiter {
  resolve(): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Promises waiting for one condition ("connected", "subscribed"), each bounded by its own
 * timeout. Whoever owns the condition settles them all at once; a waiter never outlives
 * its timeout, so a caller is never left hanging.
 */
export class Waiters {
  readonly #waiting = new Set<Waiter>();

  /** Waits until resolveAll/rejectAll, or rejects with `onTimeout()` after `timeoutMs`. */
  wait(timeoutMs: number, onTimeout: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          this.#finish(waiter);
          resolve();
        },
        reject: (error) => {
          this.#finish(waiter);
          reject(error);
        },
        timer: undefined,
      };
      if (Number.isFinite(timeoutMs)) {
        waiter.timer = setTimeout(() => waiter.reject(onTimeout()), Math.max(0, timeoutMs));
      }
      this.#waiting.add(waiter);
    });
  }

  get size(): number {
    return this.#waiting.size;
  }

  resolveAll(): void {
    for (const waiter of [...this.#waiting]) waiter.resolve();
  }

  rejectAll(error: Error): void {
    for (const waiter of [...this.#waiting]) waiter.reject(error);
  }

  #finish(waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    this.#waiting.delete(waiter);
  }
}
