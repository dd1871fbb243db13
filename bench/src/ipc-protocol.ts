import type { ClientKind } from './bench-client.js';
import type { Histogram } from './histogram.js';
import type { SubscriptionPlan } from './subscription-plan.js';

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
      /** Source address (127.0.0.x) for these connections; the kernel's choice when absent. */
      localAddress?: string;
    }
  | {
      /** Each connection opens and then subscribes at once (the one-channel-per-user pattern). */
      cmd: 'connect-subscribe';
      kind: ClientKind;
      url: string;
      /** Connection i presents tokens[i % tokens.length] (empty: none). */
      tokens: string[];
      count: number;
      concurrency: number;
      /** Nothing new starts after this long, and whatever is unfinished then counts as failed. */
      deadlineMs: number;
      plan: SubscriptionPlan;
      localAddress?: string;
      /** Wall-clock ms (clock.ts) completion times are measured from, the same for every process of a run. */
      originWallMs: number;
    }
  | {
      cmd: 'subscribe';
      plan: SubscriptionPlan;
      /** Leave the first `skip` connections out (the publishers). */
      skip: number;
      concurrency: number;
    }
  | { cmd: 'fanout-phase'; spec: FanoutPhaseSpec }
  | { cmd: 'publish-throughput'; channel: string; window: number; durationMs: number; payloadBytes: number }
  | {
      /** Unsubscribe one of a connection's channels and subscribe it again, `rate` times per second (open loop). */
      cmd: 'churn';
      plan: Extract<SubscriptionPlan, { kind: 'own' }>;
      skip: number;
      rate: number;
      durationMs: number;
      /** Past this many cycles in flight, a due cycle is skipped (and counted) rather than queued. */
      maxInFlight: number;
    }
  | { cmd: 'ping-phase'; intervalMs: number; durationMs: number; timeoutMs: number }
  | {
      /** Closed-loop subscribe → history → unsubscribe of made-up channels on the first `connections` connections (storm-runner.ts). */
      cmd: 'storm';
      connections: number;
      prefix: string;
      durationMs: number;
    }
  | { cmd: 'close' };

export interface FanoutPhaseSpec {
  phase: string;
  /** Publication n goes to channels[n % channels.length] … */
  channels: string[];
  /** … from publisher connection n % publishers (the first `publishers` connections of the process). */
  publishers: number;
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

export interface ConnectSubscribeResult {
  attempted: number;
  opened: number;
  subscribed: number;
  failed: number;
  errors: Record<string, number>;
  /** new WebSocket → subscribe reply, per subscribed connection, µs. */
  latency: SerializedHistogram;
  /** When each subscription was confirmed, µs after `originWallMs`: its percentiles say when 50 %, 99 %, 100 % were done. */
  completedAt: SerializedHistogram;
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

export interface ChurnResult {
  /** Cycles due by the schedule. */
  due: number;
  /** Unsubscribe + subscribe cycles that completed (a failed or unfinished cycle is not counted). */
  completed: number;
  failed: number;
  /** Due but not started: `maxInFlight` cycles were already waiting. */
  skipped: number;
  /** Still waiting for a reply 10 s after the schedule ended (churn-runner.ts). */
  unfinished: number;
  errors: Record<string, number>;
  elapsedMs: number;
  /** One cycle (unsubscribe → reply → subscribe → reply), µs. */
  latency: SerializedHistogram;
}

export interface PingPhaseResult {
  sent: number;
  answered: number;
  /** No pong within `timeoutMs` (or the connection failed). */
  lost: number;
  errors: Record<string, number>;
  elapsedMs: number;
  /** Ping → pong, µs. */
  latency: SerializedHistogram;
}

export interface StormResult {
  connections: number;
  /** subscribe + history + unsubscribe batches answered (each answer ok or refused). */
  batches: number;
  /** Batches not answered within 10 s (that connection then stopped). */
  timedOut: number;
  /** Per request: `ok`, or the refusal's error code. */
  answers: Record<string, number>;
  elapsedMs: number;
  /** One batch, sent → last answer, µs. */
  latency: SerializedHistogram;
}

export type LoadRequest = LoadCommand & { requestId: number };
export type LoadResponse = { requestId: number; ok: true; result: unknown } | { requestId: number; ok: false; error: string };
