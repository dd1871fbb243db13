import { BENCH_EVENT_TYPE, makePayload } from './bench-event.js';
import type { BenchClient } from './bench-client.js';
import { wallNow } from './clock.js';
import { Histogram } from './histogram.js';
import type { PublishThroughputResult } from './ipc-protocol.js';

/** One connection publishing as fast as the replies come back, `window` requests in flight. */
export async function runPublishThroughput(client: BenchClient, channel: string, window: number, durationMs: number, payloadBytes: number): Promise<PublishThroughputResult> {
  const latency = new Histogram();
  let acked = 0;
  let errors = 0;
  let seq = 0;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  await new Promise<void>((resolve) => {
    let inFlight = 0;
    const sendOne = () => {
      inFlight += 1;
      seq += 1;
      const sentAt = performance.now();
      client.publish(channel, BENCH_EVENT_TYPE, makePayload('publish', seq, wallNow(), payloadBytes)).then(
        () => done(sentAt, true),
        () => done(sentAt, false),
      );
    };
    const done = (sentAt: number, ok: boolean) => {
      const now = performance.now();
      inFlight -= 1;
      if (ok) {
        acked += 1;
        latency.record((now - sentAt) * 1000);
      } else errors += 1;
      if (now < deadline) {
        while (inFlight < window) sendOne();
      } else if (inFlight === 0) resolve();
    };
    while (inFlight < window) sendOne();
  });
  return { acked, errors, elapsedMs: performance.now() - t0, latency: latency.serialize() };
}
