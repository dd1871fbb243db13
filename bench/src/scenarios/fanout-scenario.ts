import { Histogram, type HistogramSummary } from '../histogram.js';
import type { FanoutPhaseSpec } from '../ipc-protocol.js';
import { LoadGeneratorProcess } from '../load-generator-process.js';
import { CpuSharesMeter, type CpuShares } from '../process-stats.js';
import { startServer } from '../server-process.js';
import type { Target } from '../targets.js';
import { toMs } from './connections-scenario.js';
import { connectClients, type RunContext } from './run-context.js';

export const FANOUT_CHANNEL = 'agent:bench';

export interface FanoutPhaseReport extends CpuShares {
  phase: string;
  mode: 'rate' | 'closed';
  /** Publications/s asked for (open loop), or the closed-loop window. */
  targetRate: number | null;
  window: number | null;
  subscribers: number;
  published: number;
  publishErrors: number;
  expected: number;
  delivered: number;
  complete: boolean;
  /** From the first publication to the last delivery (or the end of publishing, if later). */
  elapsedMs: number;
  /** Delivered messages per second (one publication to 1,000 subscribers = 1,000 messages). */
  deliveredPerSecond: number;
  /** Publications per second that reached every subscriber. */
  publicationsPerSecond: number;
  latencyMs: HistogramSummary;
}

export interface FanoutResult {
  subscribers: number;
  subscribeMs: number;
  subscribeFailed: number;
  phases: FanoutPhaseReport[];
}

/**
 * Scenario 2: N subscribers on one channel, one publisher, all in one load-generator
 * process (on 2 cores a second process would only compete with the first and the server).
 * A 1 s warm-up phase, then one open-loop phase per rate, then a closed-loop phase that
 * keeps `maxWindow` publications in flight for maximum throughput.
 */
export async function runFanoutScenario(target: Target, ctx: RunContext): Promise<FanoutResult> {
  const { settings } = ctx;
  const server = await startServer(target, ctx.dataDir);
  const load = LoadGeneratorProcess.start();
  try {
    await connectClients(load, target, server.url, ctx, settings.subscribers + 1, 100);
    const subscribed = await load.subscribe(FANOUT_CHANNEL, 1, 100);
    if (subscribed.failed > 0) throw new Error(`${subscribed.failed} subscriptions failed: ${JSON.stringify(subscribed.errors)}`);

    const base = { channel: FANOUT_CHANNEL, payloadBytes: settings.payloadBytes, stallTimeoutMs: 5_000 };
    await load.fanoutPhase({ ...base, phase: 'warmup', mode: 'rate', rate: 50, window: 0, durationMs: 1_000 });

    const specs: FanoutPhaseSpec[] = settings.fanoutRates.map((rate) => ({
      ...base,
      phase: `rate-${rate}`,
      mode: 'rate',
      rate,
      window: 0,
      durationMs: settings.phaseSeconds * 1000,
    }));
    if (settings.maxSeconds > 0) {
      specs.push({ ...base, phase: 'max', mode: 'closed', rate: 0, window: settings.maxWindow, durationMs: settings.maxSeconds * 1000 });
    }
    const phases: FanoutPhaseReport[] = [];
    for (const spec of specs) {
      ctx.log(`  ${target.label} fan-out ${spec.phase}…`);
      const cpu = new CpuSharesMeter(server.pid, load.pid).start();
      const r = await load.fanoutPhase(spec);
      const cpuShares = cpu.stop();
      const elapsedMs = Math.max(r.lastDeliveryAt, r.publishEndedAt) - r.publishStartedAt;
      phases.push({
        phase: spec.phase,
        mode: spec.mode,
        targetRate: spec.mode === 'rate' ? spec.rate : null,
        window: spec.mode === 'closed' ? spec.window : null,
        subscribers: r.subscribers,
        published: r.published,
        publishErrors: r.publishErrors,
        expected: r.expected,
        delivered: r.delivered,
        complete: r.complete,
        elapsedMs,
        deliveredPerSecond: (r.delivered / elapsedMs) * 1000,
        publicationsPerSecond: (r.delivered / r.subscribers / elapsedMs) * 1000,
        latencyMs: toMs(Histogram.from(r.latency).summary()),
        ...cpuShares,
      });
    }
    return { subscribers: subscribed.subscribed, subscribeMs: subscribed.elapsedMs, subscribeFailed: subscribed.failed, phases };
  } finally {
    await load.stop();
    const stopMs = await server.stop();
    if (stopMs > 2_000) ctx.log(`  ${target.label} server took ${(stopMs / 1000).toFixed(1)} s to stop`);
  }
}
