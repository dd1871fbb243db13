import { ApiXClientError } from './errors.js';

/** How a request ended: its result, or why it failed. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ApiXClientError };

interface Pending {
  settle(outcome: Outcome<unknown>): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The requests of one connection that wait for their reply. Ids are unique among this
 * connection's requests in flight, which is all the protocol asks; a new connection starts
 * a new tracker, so a late reply can never settle a request of another connection.
 *
 * Settlement is a synchronous callback, not a promise: the reply to a subscribe must take
 * effect before the next frame is read (the replayed events follow it at once, often in
 * the same network read, and Node's `ws` dispatches those without a microtask in between).
 *
 * Invariant: every request started here settles exactly once: by its reply, by its
 * timeout, or by `failAll` when the connection ends.
 */
export class RequestTracker {
  readonly #pending = new Map<string, Pending>();
  #nextId = 1;

  /** Registers a request and returns its id; `settle` runs once, by reply, after `timeoutMs`, or by `failAll`. */
  start(timeoutMs: number, settle: (outcome: Outcome<unknown>) => void): string {
    const id = String(this.#nextId++);
    const pending: Pending = { settle, timer: undefined };
    if (Number.isFinite(timeoutMs)) {
      pending.timer = setTimeout(() => {
        this.reject(id, ApiXClientError.client('TIMEOUT', `no reply within ${Math.round(timeoutMs)} ms`));
      }, Math.max(0, timeoutMs));
    }
    this.#pending.set(id, pending);
    return id;
  }

  has(id: string): boolean {
    return this.#pending.has(id);
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Settles a request with its result; false if no such request waits (late or unknown reply). */
  resolve(id: string, value: unknown): boolean {
    const pending = this.#take(id);
    pending?.settle({ ok: true, value });
    return pending !== undefined;
  }

  reject(id: string, error: ApiXClientError): boolean {
    const pending = this.#take(id);
    pending?.settle({ ok: false, error });
    return pending !== undefined;
  }

  /** Fails every request still waiting (the connection is gone). */
  failAll(error: ApiXClientError): void {
    for (const id of [...this.#pending.keys()]) this.reject(id, error);
  }

  #take(id: string): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    return pending;
  }
}
