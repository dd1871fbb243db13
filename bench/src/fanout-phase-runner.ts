import { BENCH_EVENT_TYPE, makePayload, type BenchPayload } from './bench-event.js';
import type { BenchClient } from './bench-client.js';
import { sleep, wallNow } from './clock.js';
import { Histogram } from './histogram.js';
import type { FanoutPhaseResult, FanoutPhaseSpec } from './ipc-protocol.js';

/**
 * Runs fan-out phases: publisher connections and subscribers, all in this process, so the
 * publisher side can see when a publication has reached every receiver (the closed-loop
 * mode needs that). Subscribers record publish → deliver latency from the payload's
 * `sentAt` into a histogram; memory does not grow with the number of events.
 *
 * `receivers` is how many subscribers one publication reaches: all of them when they share
 * one channel (fan-out), one when every subscriber has a channel of its own (many channels).
 */
export class FanoutPhaseRunner {
  readonly #receivers: number;
  #phase: PhaseState | undefined;
  /** Deliveries that belong to no running phase (stragglers). */
  stray = 0;

  constructor(receivers: number) {
    this.#receivers = receivers;
  }

  /** The subscribers' `onPayload`. */
  readonly deliver = (payload: BenchPayload): void => {
    const now = wallNow();
    const phase = this.#phase;
    if (!phase || payload.phase !== phase.name) {
      this.stray += 1;
      return;
    }
    phase.latency.record((now - payload.sentAt) * 1000);
    phase.delivered += 1;
    phase.lastDeliveryAt = now;
    const left = (phase.remaining.get(payload.seq) ?? this.#receivers) - 1;
    if (left > 0) {
      phase.remaining.set(payload.seq, left);
      return;
    }
    phase.remaining.delete(payload.seq);
    phase.completed += 1;
    phase.progressAt = performance.now();
    phase.onCompleted?.();
  };

  async run(publishers: readonly BenchClient[], spec: FanoutPhaseSpec): Promise<FanoutPhaseResult> {
    if (publishers.length === 0) throw new Error('no publisher connection');
    if (spec.channels.length === 0) throw new Error('no channel to publish to');
    const phase: PhaseState = {
      name: spec.phase,
      latency: new Histogram(),
      delivered: 0,
      completed: 0,
      lastDeliveryAt: 0,
      progressAt: performance.now(),
      remaining: new Map(),
      onCompleted: undefined,
    };
    this.#phase = phase;
    let published = 0;
    let acked = 0;
    let publishErrors = 0;
    const publishOne = () => {
      const n = published;
      published += 1;
      const publisher = publishers[n % publishers.length]!;
      const channel = spec.channels[n % spec.channels.length]!;
      publisher.publish(channel, BENCH_EVENT_TYPE, makePayload(spec.phase, published, wallNow(), spec.payloadBytes)).then(
        () => void (acked += 1),
        () => void (publishErrors += 1),
      );
    };

    const publishStartedAt = wallNow();
    const t0 = performance.now();
    if (spec.mode === 'rate') {
      // Open loop: catch up to the schedule on every tick, so a late timer sends a burst rather than fewer events.
      await new Promise<void>((resolve) => {
        const tick = () => {
          const elapsed = performance.now() - t0;
          const due = Math.min(Math.floor((elapsed * spec.rate) / 1000) + 1, Math.ceil((spec.durationMs * spec.rate) / 1000));
          while (published < due) publishOne();
          if (elapsed >= spec.durationMs) {
            clearInterval(timer);
            resolve();
          }
        };
        const timer = setInterval(tick, 1);
        tick();
      });
    } else {
      // Closed loop: keep `window` publications in flight end to end (published, not yet delivered to everyone).
      let stopped = false;
      const pump = () => {
        while (!stopped && published - phase.completed - publishErrors < spec.window) publishOne();
      };
      phase.onCompleted = pump;
      pump();
      await sleep(spec.durationMs);
      stopped = true;
    }
    const publishEndedAt = wallNow();

    // Drain: wait until every publication reached every receiver, or progress stops.
    phase.progressAt = performance.now();
    let lastCount = -1;
    while (phase.completed + publishErrors < published) {
      if (phase.delivered !== lastCount) {
        lastCount = phase.delivered;
        phase.progressAt = performance.now();
      } else if (performance.now() - phase.progressAt > spec.stallTimeoutMs) break;
      await sleep(10);
    }
    this.#phase = undefined;
    return {
      phase: spec.phase,
      mode: spec.mode,
      subscribers: this.#receivers,
      published,
      acked,
      publishErrors,
      expected: published * this.#receivers,
      delivered: phase.delivered,
      publishStartedAt,
      publishEndedAt,
      lastDeliveryAt: phase.lastDeliveryAt,
      complete: phase.completed === published,
      latency: phase.latency.serialize(),
    };
  }
}

interface PhaseState {
  readonly name: string;
  readonly latency: Histogram;
  delivered: number;
  completed: number;
  lastDeliveryAt: number;
  progressAt: number;
  /** seq → receivers still to receive it. */
  readonly remaining: Map<number, number>;
  onCompleted: (() => void) | undefined;
}
