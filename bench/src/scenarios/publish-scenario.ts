import { Histogram, type HistogramSummary } from '../histogram.js';
import { LoadGeneratorProcess } from '../load-generator-process.js';
import { CpuSharesMeter, type CpuShares } from '../process-stats.js';
import { section, type Metric } from '../report.js';
import { startServer } from '../server-process.js';
import type { Target } from '../targets.js';
import { toMs } from './connections-scenario.js';
import { connectClients, stopServer, type RunContext } from './run-context.js';
import { CLASSIC_TARGETS, type Scenario } from './scenario.js';

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
  const server = await startServer(target, ctx.environment);
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
    await stopServer(server, target, ctx);
  }
}

const metrics: Metric<PublishResult>[] = [
  { label: 'acked publishes (/s)', better: 'higher', decimals: 0, value: (r) => r.ackedPerSecond },
  { label: 'ack latency p50 (ms)', better: 'lower', decimals: 2, value: (r) => r.ackLatencyMs.p50 },
  { label: 'ack latency p99 (ms)', better: 'lower', decimals: 2, value: (r) => r.ackLatencyMs.p99 },
  { label: 'errors', better: 'lower', decimals: 0, value: (r) => r.errors },
  { label: 'server CPU (%)', better: '', decimals: 0, value: (r) => r.serverCpuPercent },
  { label: 'load-gen CPU (%)', better: '', decimals: 0, value: (r) => r.loadCpuPercent },
  { label: 'other CPU on the machine (%)', better: '', decimals: 0, value: (r) => r.otherCpuPercent, noRatio: true },
];

export const publishScenario: Scenario<PublishResult> = {
  id: 'publish',
  summary: 'one connection publishing with a window of requests in flight, no subscribers: acked publishes/s',
  defaultTargets: CLASSIC_TARGETS,
  run: runPublishScenario,
  render: ({ number, settings, targets, outcomes }) =>
    [
      `${number}. Publish throughput: one connection, ${settings.publishWindow} requests in flight, ${settings.publishSeconds} s, no subscribers`,
      section(targets, outcomes, metrics),
    ].join('\n'),
};
