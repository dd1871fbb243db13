import { LoadGeneratorProcess } from '../load-generator-process.js';
import { CpuSharesMeter } from '../process-stats.js';
import { startServer } from '../server-process.js';
import { TARGETS, type Target } from '../targets.js';
import { FANOUT_CHANNEL } from './fanout-scenario.js';
import { connectClients, stopServer, type RunContext } from './run-context.js';

export type TrackingMode = 'on' | 'off';

export interface TrackingRound {
  mode: TrackingMode;
  round: number;
  delivered: number;
  complete: boolean;
  serverCpuPercent: number;
  otherCpuPercent: number;
  elapsedMs: number;
  /** Server CPU time per delivered message, µs: the figure compared between the modes. */
  cpuMicrosPerDelivery: number;
}

export interface TrackingCostResult {
  subscribers: number;
  rate: number;
  seconds: number;
  rounds: TrackingRound[];
  /** Median over the complete rounds (every publication reached every subscriber), per mode. */
  medianMicrosPerDelivery: Record<TrackingMode, number>;
  /** (on − off) ÷ off: the tracking's share of fan-out CPU per delivery; null when a mode has no complete round. */
  overhead: number | null;
}

/** APIX with the LatencyTracker switched on or off (MONITORING_TRACKING), everything else equal. */
function apixWithTracking(mode: TrackingMode): Target {
  const base = TARGETS.apix;
  return { ...base, label: `APIX tracking ${mode}`, env: (port, environment) => ({ ...base.env(port, environment), MONITORING_TRACKING: mode === 'on' ? 'true' : 'false' }) };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * The LatencyTracker's cost: the same open-loop fan-out (N subscribers, one channel, a fixed
 * rate) against APIX with tracking on and off, alternating on/off/off/on… so drift in the
 * machine's load hits both modes alike. Each round is a fresh server process; the figure is
 * server CPU µs per delivered message, medians over the rounds.
 */
export async function runTrackingCostScenario(ctx: RunContext, options: { rounds: number; rate: number; seconds: number }): Promise<TrackingCostResult> {
  const { settings } = ctx;
  const rounds: TrackingRound[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const order: TrackingMode[] = round % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    for (const mode of order) {
      const target = apixWithTracking(mode);
      ctx.log(`  round ${round + 1}/${options.rounds}: tracking ${mode}`);
      const server = await startServer(target, ctx.environment);
      const load = LoadGeneratorProcess.start();
      try {
        await connectClients(load, target, server.url, ctx, settings.subscribers + 1, 100);
        const subscribed = await load.subscribe({ kind: 'shared', channel: FANOUT_CHANNEL }, 1, 100);
        if (subscribed.failed > 0) throw new Error(`${subscribed.failed} subscriptions failed`);
        const base = { channels: [FANOUT_CHANNEL], publishers: 1, payloadBytes: settings.payloadBytes, stallTimeoutMs: 5_000 };
        await load.fanoutPhase({ ...base, phase: 'warmup', mode: 'rate', rate: options.rate, window: 0, durationMs: 2_000 });
        const cpu = new CpuSharesMeter(server.pid, load.pid).start();
        const r = await load.fanoutPhase({ ...base, phase: `tracking-${mode}`, mode: 'rate', rate: options.rate, window: 0, durationMs: options.seconds * 1000 });
        const shares = cpu.stop();
        const elapsedMs = Math.max(r.lastDeliveryAt, r.publishEndedAt) - r.publishStartedAt;
        // CPU % of one core over the metered interval → CPU µs, divided by deliveries.
        const cpuMicros = (shares.serverCpuPercent / 100) * elapsedMs * 1000;
        rounds.push({
          mode,
          round: round + 1,
          delivered: r.delivered,
          complete: r.complete,
          serverCpuPercent: shares.serverCpuPercent,
          otherCpuPercent: shares.otherCpuPercent,
          elapsedMs,
          cpuMicrosPerDelivery: r.delivered > 0 ? cpuMicros / r.delivered : 0,
        });
      } finally {
        await load.stop();
        await stopServer(server, target, ctx);
      }
    }
  }
  const complete = (mode: TrackingMode) => rounds.filter((r) => r.mode === mode && r.complete).map((r) => r.cpuMicrosPerDelivery);
  const on = complete('on').length > 0 ? median(complete('on')) : 0;
  const off = complete('off').length > 0 ? median(complete('off')) : 0;
  // No complete round in a mode: no figure (a 0 here once read as "0 % overhead").
  const measured = on > 0 && off > 0;
  return { subscribers: settings.subscribers, rate: options.rate, seconds: options.seconds, rounds, medianMicrosPerDelivery: { on, off }, overhead: measured ? (on - off) / off : null };
}
