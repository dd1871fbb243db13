import type { BenchPayload } from './bench-event.js';

/** How the load generator talks to a target: APIX and the raw ws baseline share `ws`. */
export type ClientKind = 'ws' | 'socketio';

/** One benchmark connection, whatever the protocol underneath. */
export interface BenchClient {
  /** Resolves once the connection is usable (for APIX: authenticated, `connection.established` received). */
  open(timeoutMs: number): Promise<void>;
  /** Resolves when the server acknowledged the subscription. */
  subscribe(channel: string): Promise<void>;
  /** Resolves when the server acknowledged the publication. */
  publish(channel: string, eventType: string, payload: BenchPayload): Promise<void>;
  /** Called for every delivered event with its payload. */
  onPayload: ((payload: BenchPayload) => void) | undefined;
  /** Drops the connection at once (no close handshake). */
  terminate(): void;
}
