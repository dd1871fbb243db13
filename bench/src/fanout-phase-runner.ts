import { BENCH_EVENT_TYPE, makePayload, type BenchPayload } from './bench-event.js';
import type { BenchClient } from './bench-client.js';
import { sleep, wallNow } from './clock.js';
import { Histogram } from './histogram.js';
import type { FanoutPhaseResult, FanoutPhaseSpec } from './ipc-protocol.js';

/**
 * Runs fan-out phases: one publisher connection and N subscribers, all in this process, so
 * the publisher can see when a publication has reached every subscriber (the closed-loop
 * mode needs that). Subscribers record publish → deliver latency from the payload's
 * `sentAt` into a histogram; memory does not grow with the number of events.
 */
export class FanoutPhaseRunner {
  readonly #subscribers: number;
  #phase: PhaseState | undefined;
  /** Deliveries that belong to no running phase (stragglers). */
  stray = 0;

  constructor(subscribers: number) {
    this.#subscribers = subscribers;
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
    const left = (phase.remaining.get(payload.seq) ?? this.#subscribers) - 1;
    if (left > 0) {
      phase.remaining.set(payload.seq, left);
      return;
    }
    phase.remaining.delete(payload.seq);
    phase.completed += 1;
    phase.progressAt = performance.now();
    phase.onCompleted?.();
  };

  async run(publisher: BenchClient, spec: FanoutPhaseSpec): Promise<FanoutPhaseResult> {
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
      published += 1;
      publisher.publish(spec.channel, BENCH_EVENT_TYPE, makePayload(spec.phase, published, wallNow(), spec.payloadBytes)).then(
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

    // Drain: wait until every publication reached every subscriber, or progress stops.
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
      subscribers: this.#subscribers,
      published,
      acked,
      publishErrors,
      expected: published * this.#subscribers,
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
  /** seq → subscribers still to receive it. */
  readonly remaining: Map<number, number>;
  onCompleted: (() => void) | undefined;
}
