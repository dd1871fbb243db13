import { Histogram, type HistogramSummary } from '../histogram.js';
import type { FanoutPhaseSpec } from '../ipc-protocol.js';
import { LoadGeneratorProcess } from '../load-generator-process.js';
import { CpuSharesMeter, type CpuShares } from '../process-stats.js';
import { sectionsByPart, type Metric } from '../report.js';
import { startServer } from '../server-process.js';
import type { Target } from '../targets.js';
import { formatNumber } from '../text-table.js';
import { toMs } from './connections-scenario.js';
import { connectClients, stopServer, type RunContext } from './run-context.js';
import { ENGINE_TARGETS, type Scenario } from './scenario.js';

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
  const server = await startServer(target, ctx.environment);
  const load = LoadGeneratorProcess.start();
  try {
    await connectClients(load, target, server.url, ctx, settings.subscribers + 1, 100);
    const subscribed = await load.subscribe({ kind: 'shared', channel: FANOUT_CHANNEL }, 1, 100);
    if (subscribed.failed > 0) throw new Error(`${subscribed.failed} subscriptions failed: ${JSON.stringify(subscribed.errors)}`);

    const phases = await measureFanoutPhases(load, server.pid, target, ctx, 'fan-out');
    return { subscribers: subscribed.subscribed, subscribeMs: subscribed.elapsedMs, subscribeFailed: subscribed.failed, phases };
  } finally {
    await load.stop();
    await stopServer(server, target, ctx);
  }
}

/**
 * The fan-out phases on a load generator whose first connection publishes and whose others
 * subscribed to {@link FANOUT_CHANNEL}: a 1 s warm-up, one open-loop phase per rate, then
 * the closed-loop max-throughput phase. `serverPids`: every process serving the subscribers
 * (their CPU is added up).
 */
export async function measureFanoutPhases(
  load: LoadGeneratorProcess,
  serverPids: number | readonly number[],
  target: Target,
  ctx: RunContext,
  what: string,
): Promise<FanoutPhaseReport[]> {
  const { settings } = ctx;
  const base = { channels: [FANOUT_CHANNEL], publishers: 1, payloadBytes: settings.payloadBytes, stallTimeoutMs: 5_000 };
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
    ctx.log(`  ${target.label} ${what} ${spec.phase}…`);
    const cpu = new CpuSharesMeter(serverPids, load.pid).start();
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
  return phases;
}

export const fanoutPhaseMetrics: Metric<FanoutPhaseReport>[] = [
  { label: 'delivered (msg/s)', better: 'higher', decimals: 0, value: (r) => r.deliveredPerSecond },
  { label: 'publications fully delivered (/s)', better: 'higher', decimals: 1, value: (r) => r.publicationsPerSecond },
  { label: 'delivered / expected', better: '', decimals: 0, noRatio: true, value: (r) => r.delivered, text: (r) => `${formatNumber(r.delivered)}/${formatNumber(r.expected)}` },
  { label: 'latency p50 (ms)', better: 'lower', decimals: 2, value: (r) => r.latencyMs.p50 },
  { label: 'latency p99 (ms)', better: 'lower', decimals: 2, value: (r) => r.latencyMs.p99 },
  { label: 'latency p99.9 (ms)', better: 'lower', decimals: 2, value: (r) => r.latencyMs.p999 },
  { label: 'latency max (ms)', better: 'lower', decimals: 2, value: (r) => r.latencyMs.max },
  { label: 'server CPU (%)', better: '', decimals: 0, value: (r) => r.serverCpuPercent },
  { label: 'load-gen CPU (%)', better: '', decimals: 0, value: (r) => r.loadCpuPercent },
  { label: 'other CPU on the machine (%)', better: '', decimals: 0, value: (r) => r.otherCpuPercent, noRatio: true },
];

export const fanoutScenario: Scenario<FanoutResult> = {
  id: 'fanout',
  summary: 'N subscribers on one channel (--subscribers): open-loop rates, then max throughput; publish → deliver latency',
  defaultTargets: ENGINE_TARGETS,
  run: runFanoutScenario,
  render: ({ number, settings, targets, outcomes }) =>
    sectionsByPart(
      targets,
      outcomes,
      (r) => r.phases,
      (p) => p.phase,
      (p) => {
        const describe =
          p.mode === 'rate'
            ? `${formatNumber(p.targetRate ?? 0)} publications/s for ${settings.phaseSeconds} s (open loop)`
            : `max throughput, ${p.window} publications in flight end to end, ${settings.maxSeconds} s (closed loop)`;
        return `${number}. Fan-out: ${formatNumber(settings.subscribers)} subscribers on one channel, ${settings.payloadBytes} B payload — ${describe}`;
      },
      fanoutPhaseMetrics,
      `${number}. Fan-out: ${formatNumber(settings.subscribers)} subscribers on one channel`,
    ).join('\n'),
};
