import type { HeartbeatPongFrame } from '@apix/protocol';
import { monotonicNow } from './clock.js';
import { hasErrorCode } from './errors.js';

export interface HeartbeatDeps {
  /** Time between a pong and the next ping. */
  intervalMs: number;
  /** How long a ping may wait for its pong before the link is presumed dead. */
  pongTimeoutMs: number;
  /**
   * Sends `heartbeat.ping` carrying the previous round trip (`rttMs`, so the server can show
   * it); resolves with the pong, rejects with APIX_ERR_TIMEOUT after `timeoutMs`.
   */
  ping(ts: number, timeoutMs: number, rttMs: number | undefined): Promise<HeartbeatPongFrame>;
  onPong(rttMs: number, serverTime: number): void;
  /** No pong in time: the caller drops the connection and reconnects. */
  onTimeout(): void;
}

/**
 * The SDK's own heartbeat on one connection. The server pings at the WebSocket level too,
 * but a browser never sees those pings: a half-open link (laptop lid, NAT timeout, lost
 * Wi-Fi) would look alive forever. An application-level ping with a deadline is how the
 * client notices, and the pong gives the round-trip time for free.
 *
 * Invariant: at most one ping in flight; nothing runs after `stop()`.
 */
export class Heartbeat {
  readonly #deps: HeartbeatDeps;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  /** The last measured round trip, reported to the server with the next ping. */
  #lastRttMs: number | undefined;

  constructor(deps: HeartbeatDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#beat();
    }, this.#deps.intervalMs);
  }

  #beat(): void {
    // The frame carries wall time (the server echoes it, for logs); the RTT is measured on the monotonic clock.
    const sentAt = monotonicNow();
    this.#deps.ping(Date.now(), this.#deps.pongTimeoutMs, this.#lastRttMs).then(
      (pong) => {
        if (this.#stopped) return;
        this.#lastRttMs = Math.round(Math.max(0, monotonicNow() - sentAt));
        this.#deps.onPong(Math.max(0, monotonicNow() - sentAt), pong.serverTime);
        this.#schedule();
      },
      (error: unknown) => {
        if (this.#stopped) return;
        if (hasErrorCode(error, 'APIX_ERR_TIMEOUT')) {
          this.stop();
          this.#deps.onTimeout();
          return;
        }
        // The connection is gone (its owner stops us) or the server answered with an error:
        // either way the link carried a reply, so it is alive; keep beating.
        if (!hasErrorCode(error, 'APIX_ERR_CONNECTION_LOST')) this.#schedule();
      },
    );
  }
}
