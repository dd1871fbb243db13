import type { BenchClient } from './bench-client.js';
import { Histogram } from './histogram.js';
import type { StormResult } from './ipc-protocol.js';

/** Made-up channels in one subscribe/unsubscribe frame of the storm. */
export const STORM_CHANNELS_PER_BATCH = 10;
/** Each connection cycles through this many made-up channels of its own. */
const STORM_CHANNELS_PER_CONNECTION = 50;
/** A batch not answered within this long counts as timed out, and that connection stops (a stalled server would hold the run forever). */
const BATCH_TIMEOUT_MS = 10_000;
/** The history read of each batch. */
const HISTORY_LIMIT = 100;

/**
 * Subscription storm (closed loop, from the hardening work's bystander-isolation bench):
 * every connection, back to back for `durationMs`, subscribes to 10 made-up channels of its
 * own (`<prefix><connection>-<n>`), reads the first one's history and who is present on it, and unsubscribes them, as
 * fast as it is answered. Every answer is tallied: `ok`, or the refusal's code (a typed
 * refusal is the server protecting itself; a timeout is a finding).
 */
export async function runStorm(clients: readonly BenchClient[], prefix: string, durationMs: number): Promise<StormResult> {
  if (clients.length === 0) throw new Error('no connection to storm on');
  const latency = new Histogram();
  const answers: Record<string, number> = {};
  let batches = 0;
  let timedOut = 0;
  const tally = async (request: Promise<unknown>) => {
    try {
      await request;
      answers.ok = (answers.ok ?? 0) + 1;
    } catch (error) {
      // WsBenchClient rejects with "<code>: <message>": the code is what a typed refusal says.
      const code = (error instanceof Error ? error.message : String(error)).split(':')[0]!.slice(0, 80);
      answers[code] = (answers[code] ?? 0) + 1;
    }
  };
  const t0 = performance.now();
  const worker = async (client: BenchClient, connection: number) => {
    let n = 0;
    while (performance.now() - t0 < durationMs) {
      const channels = Array.from({ length: STORM_CHANNELS_PER_BATCH }, (_, i) => `${prefix}${connection}-${(n + i) % STORM_CHANNELS_PER_CONNECTION}`);
      n += STORM_CHANNELS_PER_BATCH;
      const started = performance.now();
      // Sent together, as a client pipelining its requests would; the server answers them in order.
      const batch = Promise.all([
        tally(client.subscribe(channels)),
        tally(client.history(channels[0]!, HISTORY_LIMIT)),
        tally(client.presence(channels[0]!)),
        tally(client.unsubscribe(channels)),
      ]);
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([batch.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), BATCH_TIMEOUT_MS)))]);
      clearTimeout(timer);
      if (!done) {
        timedOut += 1;
        return;
      }
      batches += 1;
      latency.record((performance.now() - started) * 1000);
    }
  };
  await Promise.all(clients.map((client, i) => worker(client, i)));
  return { connections: clients.length, batches, timedOut, answers, elapsedMs: performance.now() - t0, latency: latency.serialize() };
}
