import type { BenchClient } from './bench-client.js';
import { tallyError } from './bounded-parallel.js';
import { Histogram } from './histogram.js';
import type { PingPhaseResult } from './ipc-protocol.js';

/**
 * Application-level round trips on one connection, one every `intervalMs` whether or not
 * the previous one was answered (open loop: a stalled server shows as long round trips and
 * lost pings, not as fewer samples). A pong later than `timeoutMs` counts as lost.
 */
export async function runPingPhase(client: BenchClient, intervalMs: number, durationMs: number, timeoutMs: number): Promise<PingPhaseResult> {
  const latency = new Histogram();
  const errors: Record<string, number> = {};
  let sent = 0;
  let answered = 0;
  let lost = 0;
  const settled: Promise<void>[] = [];

  const pingOnce = () => {
    sent += 1;
    const t0 = performance.now();
    settled.push(
      new Promise<void>((resolve) => {
        // Whichever comes first counts: the pong, an error, or the timeout (a later pong is ignored).
        let done = false;
        const finish = (outcome: () => void) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          outcome();
          resolve();
        };
        const timer = setTimeout(() => finish(() => tallyLost(new Error(`no pong within ${timeoutMs} ms`))), timeoutMs);
        client.ping().then(
          () =>
            finish(() => {
              latency.record((performance.now() - t0) * 1000);
              answered += 1;
            }),
          (error: unknown) => finish(() => tallyLost(error)),
        );
      }),
    );
  };
  const tallyLost = (error: unknown) => {
    lost += 1;
    tallyError(errors, error);
  };

  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - t0;
      const target = Math.min(Math.floor(elapsed / intervalMs) + 1, Math.ceil(durationMs / intervalMs));
      while (sent < target) pingOnce();
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, Math.max(1, Math.floor(intervalMs / 4)));
    tick();
  });
  await Promise.all(settled);
  return { sent, answered, lost, errors, elapsedMs: performance.now() - t0, latency: latency.serialize() };
}
