import type { BenchClient } from './bench-client.js';
import { tallyError } from './bounded-parallel.js';
import { Histogram } from './histogram.js';
import type { ChurnResult } from './ipc-protocol.js';
import type { SubscriptionPlan } from './subscription-plan.js';

/** After the schedule ends, cycles still in flight get this long; those unfinished then are counted, not awaited (a stalled server would hold the run forever). */
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Subscription churn at a fixed rate (open loop): cycle j unsubscribes connection
 * (j mod n)'s channel number ⌊j / n⌋ mod perConnection and subscribes it again, so
 * consecutive cycles land on different connections and a channel comes round again only
 * after every other one did. The connections keep their subscriptions in between.
 */
export async function runChurn(
  clients: readonly BenchClient[],
  plan: Extract<SubscriptionPlan, { kind: 'own' }>,
  rate: number,
  durationMs: number,
  maxInFlight: number,
): Promise<ChurnResult> {
  if (clients.length === 0) throw new Error('no connection to churn on');
  const latency = new Histogram();
  const errors: Record<string, number> = {};
  let due = 0;
  let completed = 0;
  let failed = 0;
  let skipped = 0;
  let inFlight = 0;
  let allSettled: (() => void) | undefined;
  const channelOf = (connection: number, k: number) =>
    plan.perConnection === 1 ? `${plan.prefix}${plan.indexOffset + connection}` : `${plan.prefix}${plan.indexOffset + connection}-${k}`;

  const cycle = async (j: number) => {
    const connection = j % clients.length;
    const client = clients[connection]!;
    const channel = channelOf(connection, Math.floor(j / clients.length) % plan.perConnection);
    const t0 = performance.now();
    try {
      await client.unsubscribe(channel);
      await client.subscribe(channel);
      latency.record((performance.now() - t0) * 1000);
      completed += 1;
    } catch (error) {
      failed += 1;
      tallyError(errors, error);
    } finally {
      inFlight -= 1;
      if (inFlight === 0) allSettled?.();
    }
  };

  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - t0;
      const target = Math.min(Math.floor((elapsed * rate) / 1000) + 1, Math.ceil((durationMs * rate) / 1000));
      while (due < target) {
        const j = due;
        due += 1;
        if (inFlight >= maxInFlight) {
          skipped += 1;
          continue;
        }
        inFlight += 1;
        void cycle(j);
      }
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
    tick();
  });
  // Let the cycles in flight finish, for a bounded time.
  if (inFlight > 0) {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      allSettled = resolve;
      timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
    });
    clearTimeout(timer);
  }
  const unfinished = inFlight;
  if (unfinished > 0) errors[`unfinished ${DRAIN_TIMEOUT_MS / 1000} s after the end`] = unfinished;
  return { due, completed, failed, skipped, unfinished, errors, elapsedMs: performance.now() - t0, latency: latency.serialize() };
}
