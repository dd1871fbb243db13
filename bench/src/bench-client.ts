import type { BenchPayload } from './bench-event.js';

/** How the load generator talks to a target: APIX and the raw ws baseline share `ws`. */
export type ClientKind = 'ws' | 'socketio';

/** Where a client connects from: a loopback source address (127.0.0.x) gives another ~28k ephemeral ports. */
export interface ClientOptions {
  readonly localAddress?: string;
}

/** One benchmark connection, whatever the protocol underneath. */
export interface BenchClient {
  /** Resolves once the connection is usable (for APIX: authenticated, `connection.established` received). */
  open(timeoutMs: number): Promise<void>;
  /** Resolves when the server acknowledged the subscription to every channel (one request). */
  subscribe(channels: string | readonly string[]): Promise<void>;
  /** Resolves when the server acknowledged the unsubscription (one request). */
  unsubscribe(channels: string | readonly string[]): Promise<void>;
  /** Resolves when the server acknowledged the publication. */
  publish(channel: string, eventType: string, payload: BenchPayload): Promise<void>;
  /** Resolves when the server answered a history read of the channel's latest `limit` publications (the baselines keep none: empty). */
  history(channel: string, limit: number): Promise<void>;
  /** Resolves when the server answered who is present on the channel (a `presence` request). */
  presence(channel: string): Promise<void>;
  /** One application-level round trip (`heartbeat.ping` → `heartbeat.pong`). */
  ping(): Promise<void>;
  /** Called for every delivered event with its payload. */
  onPayload: ((payload: BenchPayload) => void) | undefined;
  /** Drops the connection at once (no close handshake). */
  terminate(): void;
}

export function asList(channels: string | readonly string[]): string[] {
  return typeof channels === 'string' ? [channels] : [...channels];
}
