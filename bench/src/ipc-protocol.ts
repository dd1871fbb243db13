import type { ClientKind } from './bench-client.js';
import type { Histogram } from './histogram.js';

/** What the orchestrator (run-all) asks a load-generator process to do, over the fork IPC channel. */
export type LoadCommand =
  | {
      cmd: 'connect';
      kind: ClientKind;
      url: string;
      /** Bearer tokens, used round-robin (empty: send none). */
      tokens: string[];
      count: number;
      concurrency: number;
      timeoutMs: number;
    }
  | { cmd: 'subscribe'; channel: string; /** Leave the first `skip` connections out (the publisher). */ skip: number; concurrency: number }
  | { cmd: 'fanout-phase'; spec: FanoutPhaseSpec }
  | { cmd: 'publish-throughput'; channel: string; window: number; durationMs: number; payloadBytes: number }
  | { cmd: 'close' };

export interface FanoutPhaseSpec {
  phase: string;
  channel: string;
  /** `rate`: open loop, `rate` publications/s. `closed`: at most `window` publications not yet delivered to every subscriber. */
  mode: 'rate' | 'closed';
  rate: number;
  window: number;
  durationMs: number;
  payloadBytes: number;
  /** Give up waiting for deliveries after this long without progress. */
  stallTimeoutMs: number;
}

export type SerializedHistogram = ReturnType<Histogram['serialize']>;

export interface ConnectResult {
  opened: number;
  failed: number;
  elapsedMs: number;
  /** Time to a usable connection, per connection, in µs. */
  latency: SerializedHistogram;
  errors: Record<string, number>;
}

export interface SubscribeResult {
  subscribed: number;
  failed: number;
  elapsedMs: number;
  errors: Record<string, number>;
}

export interface FanoutPhaseResult {
  phase: string;
  mode: 'rate' | 'closed';
  subscribers: number;
  published: number;
  acked: number;
  publishErrors: number;
  /** published × subscribers */
  expected: number;
  delivered: number;
  /** Wall-clock ms (clock.ts). */
  publishStartedAt: number;
  publishEndedAt: number;
  lastDeliveryAt: number;
  /** Every publication reached every subscriber before the stall timeout. */
  complete: boolean;
  /** Publish → deliver, µs. */
  latency: SerializedHistogram;
}

export interface PublishThroughputResult {
  acked: number;
  errors: number;
  elapsedMs: number;
  /** Publish → reply, µs. */
  latency: SerializedHistogram;
}

export type LoadRequest = LoadCommand & { requestId: number };
export type LoadResponse = { requestId: number; ok: true; result: unknown } | { requestId: number; ok: false; error: string };
