import { toClientError, type ApiXClientError } from './errors.js';

export interface TokenRefresherDeps {
  /** Calls the application's token function. */
  getToken(): Promise<string>;
  /** Sends the `refresh` frame on the current connection; resolves with the new expiry. */
  refresh(token: string): Promise<{ expiresAt: number }>;
  /** Now on the server's clock (expiresAt is the server's time). */
  serverNow(): number;
  /** Refresh this long before expiry (at the latest half way through the time left). */
  marginMs: number;
  onRefreshed(expiresAt: number): void;
  onError(error: ApiXClientError): void;
}

/** setTimeout fires at once for delays over 2^31-1 ms; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Give up retrying a failed refresh when less than this is left: the server's 4003 close and a reconnect with a fresh token take over. */
const MIN_RETRY_DELAY_MS = 500;

/**
 * When to refresh: `margin` before expiry, but never later than half way through the time
 * left, so a token that lives shorter than the margin is still refreshed in time and a
 * run of short-lived tokens never becomes a tight loop. Undefined: already expired.
 */
export function refreshDelayMs(expiresAt: number, now: number, marginMs: number): number | undefined {
  const remaining = expiresAt - now;
  if (remaining <= 0) return undefined;
  return Math.max(remaining - marginMs, remaining / 2);
}

/**
 * Keeps one connection's token fresh with `refresh` frames, so subscriptions survive a
 * token's expiry. Only used when the token is a function (a fixed string cannot be renewed).
 *
 * Invariant: at most one refresh in flight; nothing runs after `stop()`.
 */
export class TokenRefresher {
  readonly #deps: TokenRefresherDeps;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(deps: TokenRefresherDeps) {
    this.#deps = deps;
  }

  /** Plans the refresh of a token that expires at `expiresAt` (server clock, ms). */
  schedule(expiresAt: number, afterFailure = false): void {
    this.#clear();
    if (this.#stopped || !Number.isFinite(expiresAt) || expiresAt <= 0) return;
    const now = this.#deps.serverNow();
    const delay = afterFailure ? (expiresAt - now) / 2 : refreshDelayMs(expiresAt, now, this.#deps.marginMs);
    if (delay === undefined || (afterFailure && delay < MIN_RETRY_DELAY_MS)) return;
    if (delay > MAX_TIMER_MS) {
      this.#timer = setTimeout(() => this.schedule(expiresAt, afterFailure), MAX_TIMER_MS);
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#refresh(expiresAt);
    }, delay);
  }

  stop(): void {
    this.#stopped = true;
    this.#clear();
  }

  async #refresh(expiresAt: number): Promise<void> {
    let next: number;
    try {
      const token = await this.#deps.getToken().catch((reason: unknown) => {
        throw toClientError(reason, 'TOKEN_UNAVAILABLE');
      });
      if (this.#stopped) return;
      next = (await this.#deps.refresh(token)).expiresAt;
    } catch (reason) {
      if (this.#stopped) return;
      const error = toClientError(reason);
      if (error.code === 'APIX_ERR_CONNECTION_LOST') return;
      this.#deps.onError(error);
      // A refused token (identity mismatch, bad signature) will not get better by asking
      // again; at expiry the server closes with 4003 and the reconnect fetches a new one.
      if (error.retryable) this.schedule(expiresAt, true);
      return;
    }
    if (this.#stopped) return;
    this.#deps.onRefreshed(next);
    this.schedule(next);
  }

  #clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
