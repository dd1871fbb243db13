import { Histogram, type HistogramSummary } from '../histogram.js';
import { LoadGeneratorProcess } from '../load-generator-process.js';
import { CpuSharesMeter, type CpuShares } from '../process-stats.js';
import { startServer } from '../server-process.js';
import type { Target } from '../targets.js';
import { toMs } from './connections-scenario.js';
import { connectClients, type RunContext } from './run-context.js';

export interface PublishResult extends CpuShares {
  window: number;
  acked: number;
  errors: number;
  elapsedMs: number;
  /** Acknowledged publications per second on one connection. */
  ackedPerSecond: number;
  ackLatencyMs: HistogramSummary;
}

/** Scenario 3: one connection publishes to a channel nobody subscribes to, `publishWindow` requests in flight. */
export async function runPublishScenario(target: Target, ctx: RunContext): Promise<PublishResult> {
  const { settings } = ctx;
  const server = await startServer(target, ctx.dataDir);
  const load = LoadGeneratorProcess.start();
  try {
    await connectClients(load, target, server.url, ctx, 1, 1);
    // Warm-up: let the JIT see the publish path before measuring it.
    await load.publishThroughput('agent:bench-publish', settings.publishWindow, 1_000, settings.payloadBytes);
    const cpu = new CpuSharesMeter(server.pid, load.pid).start();
    const r = await load.publishThroughput('agent:bench-publish', settings.publishWindow, settings.publishSeconds * 1000, settings.payloadBytes);
    return {
      window: settings.publishWindow,
      acked: r.acked,
      errors: r.errors,
      elapsedMs: r.elapsedMs,
      ackedPerSecond: (r.acked / r.elapsedMs) * 1000,
      ackLatencyMs: toMs(Histogram.from(r.latency).summary()),
      ...cpu.stop(),
    };
  } finally {
    await load.stop();
    const stopMs = await server.stop();
    if (stopMs > 2_000) ctx.log(`  ${target.label} server took ${(stopMs / 1000).toFixed(1)} s to stop`);
  }
}
