import { Histogram, type HistogramSummary } from '../histogram.js';
import type { FanoutPhaseSpec } from '../ipc-protocol.js';
import { LoadGeneratorProcess } from '../load-generator-process.js';
import { CpuSharesMeter, type CpuShares } from '../process-stats.js';
import { section, type Metric } from '../report.js';
import { startServer } from '../server-process.js';
import type { Target } from '../targets.js';
import { formatNumber } from '../text-table.js';
import { toMs } from './connections-scenario.js';
import { connectClients, stopServer, type RunContext } from './run-context.js';
import { ALL_TARGETS, type Scenario } from './scenario.js';

/** Channel n of the scenario: `agent:bench-c<n>` (any member may publish and subscribe by default). */
const CHANNEL_PREFIX = 'agent:bench-c';
/** Warm-up: every channel published to once before measuring, so first-time lookups are not in the figure. */
const WARMUP_MS = 1_000;

export interface ManyChannelsResult extends CpuShares {
  channels: number;
  publishers: number;
  targetRate: number;
  published: number;
  acked: number;
  publishErrors: number;
  expected: number;
  delivered: number;
  complete: boolean;
  /** Publications per second actually sent (the open-loop schedule, unless the publisher fell behind). */
  publishedPerSecond: number;
  /** Publish → deliver. */
  latencyMs: HistogramSummary;
  /** Server CPU time over the phase (until the last delivery) ÷ publications. */
  serverCpuPerPublishUs: number;
}

/**
 * Many channels: `manyChannels` subscribers, each alone on a channel of its own, and
 * `manyPublishers` publisher connections sending `manyRate` publications/s spread evenly
 * over the channels (open loop, round-robin over publishers and channels), all in one
 * load-generator process. Measures what routing by channel costs: publish → deliver latency
 * and the server's CPU per publication.
 */
export async function runManyChannels(target: Target, ctx: RunContext): Promise<ManyChannelsResult> {
  const { settings } = ctx;
  const server = await startServer(target, ctx.environment);
  const load = LoadGeneratorProcess.start();
  try {
    await connectClients(load, target, server.url, ctx, settings.manyPublishers + settings.manyChannels, 100);
    const subscribed = await load.subscribe({ kind: 'own', prefix: CHANNEL_PREFIX, perConnection: 1, indexOffset: 0 }, settings.manyPublishers, 100);
    if (subscribed.failed > 0) throw new Error(`${subscribed.failed} subscriptions failed: ${JSON.stringify(subscribed.errors)}`);
    const channels = Array.from({ length: settings.manyChannels }, (_, i) => `${CHANNEL_PREFIX}${i}`);
    const base = { channels, publishers: settings.manyPublishers, payloadBytes: settings.payloadBytes, stallTimeoutMs: 5_000, mode: 'rate', window: 0 } as const;
    await load.fanoutPhase({ ...base, phase: 'warmup', rate: Math.max(1, (settings.manyChannels * 1000) / WARMUP_MS), durationMs: WARMUP_MS });

    const spec: FanoutPhaseSpec = { ...base, phase: 'measure', rate: settings.manyRate, durationMs: settings.manySeconds * 1000 };
    const cpu = new CpuSharesMeter(server.pid, load.pid).start();
    const r = await load.fanoutPhase(spec);
    const cpuShares = cpu.stop();
    return {
      channels: settings.manyChannels,
      publishers: settings.manyPublishers,
      targetRate: settings.manyRate,
      published: r.published,
      acked: r.acked,
      publishErrors: r.publishErrors,
      expected: r.expected,
      delivered: r.delivered,
      complete: r.complete,
      publishedPerSecond: (r.published / (r.publishEndedAt - r.publishStartedAt)) * 1000,
      latencyMs: toMs(Histogram.from(r.latency).summary()),
      serverCpuPerPublishUs: r.published > 0 ? (cpuShares.serverCpuMs * 1000) / r.published : 0,
      ...cpuShares,
    };
  } finally {
    await load.stop();
    await stopServer(server, target, ctx);
  }
}

const metrics: Metric<ManyChannelsResult>[] = [
  { label: 'published (/s)', better: '', decimals: 0, value: (r) => r.publishedPerSecond },
  { label: 'publish errors', better: 'lower', decimals: 0, value: (r) => r.publishErrors },
  { label: 'delivered / expected', better: '', decimals: 0, noRatio: true, value: (r) => r.delivered, text: (r) => `${formatNumber(r.delivered)}/${formatNumber(r.expected)}` },
  { label: 'latency p50 (ms)', better: 'lower', decimals: 2, value: (r) => (r.latencyMs.count > 0 ? r.latencyMs.p50 : undefined) },
  { label: 'latency p99 (ms)', better: 'lower', decimals: 2, value: (r) => (r.latencyMs.count > 0 ? r.latencyMs.p99 : undefined) },
  { label: 'latency p99.9 (ms)', better: 'lower', decimals: 2, value: (r) => (r.latencyMs.count > 0 ? r.latencyMs.p999 : undefined) },
  { label: 'latency max (ms)', better: 'lower', decimals: 2, value: (r) => (r.latencyMs.count > 0 ? r.latencyMs.max : undefined) },
  { label: 'server CPU per publish (µs)', better: 'lower', decimals: 1, value: (r) => r.serverCpuPerPublishUs },
  { label: 'server CPU (%)', better: '', decimals: 0, value: (r) => r.serverCpuPercent },
  { label: 'load-gen CPU (%)', better: '', decimals: 0, value: (r) => r.loadCpuPercent },
  { label: 'other CPU on the machine (%)', better: '', decimals: 0, value: (r) => r.otherCpuPercent, noRatio: true },
];

export const manyChannelsScenario: Scenario<ManyChannelsResult> = {
  id: 'many-channels',
  summary: 'one subscriber on each of --many-channels channels, --many-rate publications/s spread over them: p99 latency, server CPU per publish',
  defaultTargets: ALL_TARGETS,
  run: runManyChannels,
  render: ({ number, settings, targets, outcomes }) =>
    [
      `${number}. Many channels: ${formatNumber(settings.manyChannels)} channels with one subscriber each, ${formatNumber(settings.manyRate)} publications/s ` +
        `spread over them from ${settings.manyPublishers} publisher connections for ${settings.manySeconds} s (open loop, after a 1 s warm-up touching every channel), ${settings.payloadBytes} B payload`,
      section(targets, outcomes, metrics),
    ].join('\n'),
};
