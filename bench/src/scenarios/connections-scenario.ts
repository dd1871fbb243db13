import { sleep } from '../clock.js';
import { Histogram, type HistogramSummary } from '../histogram.js';
import { collectGarbage } from '../inspector-gc.js';
import { LoadGeneratorProcess } from '../load-generator-process.js';
import { CpuSharesMeter, readRssBytes, type CpuShares } from '../process-stats.js';
import { MB, section, type Metric } from '../report.js';
import { startServer } from '../server-process.js';
import { TARGETS, type Target } from '../targets.js';
import { formatNumber } from '../text-table.js';
import { stopServer, type RunContext } from './run-context.js';
import { ENGINE_TARGETS, type Scenario } from './scenario.js';

export interface ConnectionsResult extends CpuShares {
  requested: number;
  opened: number;
  failed: number;
  errors: Record<string, number>;
  elapsedMs: number;
  /** Usable (for APIX: authenticated) connections per second. */
  connectRate: number;
  /** Per connection, ms. */
  connectLatencyMs: HistogramSummary;
  /** Server RSS (VmRSS) before connecting, after a forced full GC. */
  serverRssBeforeBytes: number;
  /** Server RSS with every connection open, `settleMs` after the last one: garbage included. */
  serverRssAfterBytes: number;
  /** The same after a forced full GC: what the connections keep. */
  serverRssAfterGcBytes: number;
  /** (RSS after − RSS before) / opened. */
  serverRssPerConnectionBytes: number;
  /** (RSS after GC − RSS before) / opened. */
  serverRssPerConnectionAfterGcBytes: number;
  /** (V8 heap used after GC − before) / opened. */
  serverHeapPerConnectionBytes: number;
}

/**
 * Scenario 1: open N concurrent connections, `connectConcurrency` handshakes in flight,
 * then hold them all and read the server's RSS, as it is and after a forced full GC (the
 * server runs with the V8 inspector open on loopback for that; see inspector-gc.ts).
 */
export async function runConnectionsScenario(target: Target, ctx: RunContext): Promise<ConnectionsResult> {
  const { settings } = ctx;
  const server = await startServer(target, ctx.environment, { inspect: true });
  const load = LoadGeneratorProcess.start();
  try {
    await sleep(500);
    const heapBefore = await collectGarbage(server.inspectPort!);
    const serverRssBeforeBytes = readRssBytes(server.pid);
    const cpu = new CpuSharesMeter(server.pid, load.pid).start();
    const result = await load.connect({
      kind: target.clientKind,
      url: server.url,
      tokens: target.authenticated ? ctx.tokens : [],
      count: settings.connections,
      concurrency: settings.connectConcurrency,
      timeoutMs: 30_000,
    });
    const cpuShares = cpu.stop();
    await sleep(settings.settleMs);
    const serverRssAfterBytes = readRssBytes(server.pid);
    const heapAfter = await collectGarbage(server.inspectPort!);
    const serverRssAfterGcBytes = readRssBytes(server.pid);
    const perConnection = (bytes: number) => (result.opened > 0 ? bytes / result.opened : 0);
    return {
      requested: settings.connections,
      opened: result.opened,
      failed: result.failed,
      errors: result.errors,
      elapsedMs: result.elapsedMs,
      connectRate: (result.opened / result.elapsedMs) * 1000,
      connectLatencyMs: toMs(Histogram.from(result.latency).summary()),
      serverRssBeforeBytes,
      serverRssAfterBytes,
      serverRssAfterGcBytes,
      serverRssPerConnectionBytes: perConnection(serverRssAfterBytes - serverRssBeforeBytes),
      serverRssPerConnectionAfterGcBytes: perConnection(serverRssAfterGcBytes - serverRssBeforeBytes),
      serverHeapPerConnectionBytes: perConnection(heapAfter.heapUsedBytes - heapBefore.heapUsedBytes),
      ...cpuShares,
    };
  } finally {
    await load.stop();
    await stopServer(server, target, ctx);
  }
}

/** A µs summary in ms. */
export function toMs(summary: HistogramSummary): HistogramSummary {
  const ms = (v: number) => v / 1000;
  return {
    count: summary.count,
    min: ms(summary.min),
    mean: ms(summary.mean),
    p50: ms(summary.p50),
    p90: ms(summary.p90),
    p99: ms(summary.p99),
    p999: ms(summary.p999),
    max: ms(summary.max),
  };
}

const metrics: Metric<ConnectionsResult>[] = [
  { label: 'connections open', better: '', decimals: 0, noRatio: true, value: (r) => r.opened, text: (r) => `${formatNumber(r.opened)}/${formatNumber(r.requested)}` },
  { label: 'connect rate (conn/s)', better: 'higher', decimals: 0, value: (r) => r.connectRate },
  { label: 'connect latency p50 (ms)', better: 'lower', decimals: 1, value: (r) => r.connectLatencyMs.p50 },
  { label: 'connect latency p99 (ms)', better: 'lower', decimals: 1, value: (r) => r.connectLatencyMs.p99 },
  { label: 'server RSS idle (MB)', better: '', decimals: 1, value: (r) => r.serverRssBeforeBytes / MB },
  { label: 'server RSS with N open (MB)', better: '', decimals: 1, value: (r) => r.serverRssAfterBytes / MB },
  { label: 'server RSS per connection (KB)', better: 'lower', decimals: 1, value: (r) => r.serverRssPerConnectionBytes / 1024 },
  { label: '  … after full GC (KB)', better: 'lower', decimals: 1, value: (r) => r.serverRssPerConnectionAfterGcBytes / 1024 },
  { label: '  … of which JS heap (KB)', better: 'lower', decimals: 1, value: (r) => r.serverHeapPerConnectionBytes / 1024 },
  { label: 'server CPU while connecting (%)', better: '', decimals: 0, value: (r) => r.serverCpuPercent },
  { label: 'load-gen CPU while connecting (%)', better: '', decimals: 0, value: (r) => r.loadCpuPercent },
  { label: 'other CPU on the machine (%)', better: '', decimals: 0, value: (r) => r.otherCpuPercent, noRatio: true },
];

export const connectionsScenario: Scenario<ConnectionsResult> = {
  id: 'connections',
  summary: 'N concurrent connections (--connections): connect rate, latency, server RSS per connection',
  defaultTargets: ENGINE_TARGETS,
  run: runConnectionsScenario,
  render: ({ number, settings, targets, outcomes }) => {
    const out = [
      `${number}. Connections: ${formatNumber(settings.connections)} concurrent, ${settings.connectConcurrency} handshakes in flight (APIX: bearer token at upgrade)`,
      section(targets, outcomes, metrics),
    ];
    for (const t of targets) {
      const outcome = outcomes[t];
      if (outcome?.ok && outcome.result.failed > 0) {
        out.push(`  ${TARGETS[t].label}: ${outcome.result.failed} connections failed: ${JSON.stringify(outcome.result.errors)}`);
      }
    }
    return out.join('\n');
  },
};
