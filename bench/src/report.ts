import type { Outcome, RunResults } from './run-results.js';
import type { ConnectionsResult } from './scenarios/connections-scenario.js';
import type { FanoutPhaseReport, FanoutResult } from './scenarios/fanout-scenario.js';
import type { PublishResult } from './scenarios/publish-scenario.js';
import { TARGETS, type TargetId } from './targets.js';
import { formatNumber, textTable } from './text-table.js';

interface Metric<T> {
  label: string;
  /** Which way is better, printed so the ratio reads unambiguously. */
  better: 'higher' | 'lower' | '';
  decimals: number;
  value(result: T): number | undefined;
  /** Shown instead of the number (e.g. "9,998 / 10,000"); the ratio still uses `value`. */
  text?(result: T): string;
  /** No APIX/baseline ratio for this row (it would mean nothing). */
  noRatio?: boolean;
}

const MB = 1024 * 1024;

const connectionMetrics: Metric<ConnectionsResult>[] = [
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

const phaseMetrics: Metric<FanoutPhaseReport>[] = [
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

const publishMetrics: Metric<PublishResult>[] = [
  { label: 'acked publishes (/s)', better: 'higher', decimals: 0, value: (r) => r.ackedPerSecond },
  { label: 'ack latency p50 (ms)', better: 'lower', decimals: 2, value: (r) => r.ackLatencyMs.p50 },
  { label: 'ack latency p99 (ms)', better: 'lower', decimals: 2, value: (r) => r.ackLatencyMs.p99 },
  { label: 'errors', better: 'lower', decimals: 0, value: (r) => r.errors },
  { label: 'server CPU (%)', better: '', decimals: 0, value: (r) => r.serverCpuPercent },
  { label: 'load-gen CPU (%)', better: '', decimals: 0, value: (r) => r.loadCpuPercent },
  { label: 'other CPU on the machine (%)', better: '', decimals: 0, value: (r) => r.otherCpuPercent, noRatio: true },
];

/** The whole run as text: one table per scenario (per phase for fan-out), with APIX / baseline ratios. */
export function renderReport(run: RunResults): string {
  const targets = run.targets;
  const out: string[] = [];
  const { settings, results } = run;
  out.push(
    `APIX benchmarks — ${run.startedAt}, ${run.machine.cpus} × ${run.machine.cpuModel}, Node ${run.machine.node}, ${formatNumber(run.durationMs / 1000, 0)} s`,
    `Load average (1 min) at start ${run.loadAverage.start.toFixed(2)}, at end ${run.loadAverage.end.toFixed(2)}: anything else running on the machine skews the figures.`,
    'Ratios are APIX / baseline: above 1 means APIX has more of the figure (good for "higher", bad for "lower").',
  );

  if (run.scenarios.includes('connections')) {
    out.push('', `1. Connections: ${formatNumber(settings.connections)} concurrent, ${settings.connectConcurrency} handshakes in flight (APIX: bearer token at upgrade)`);
    out.push(section(targets, results.connections, connectionMetrics));
    for (const t of targets) {
      const outcome = results.connections[t];
      if (outcome?.ok && outcome.result.failed > 0) {
        out.push(`  ${TARGETS[t].label}: ${outcome.result.failed} connections failed: ${JSON.stringify(outcome.result.errors)}`);
      }
    }
  }
  if (run.scenarios.includes('fanout')) {
    const phaseNames = new Set<string>();
    for (const t of targets) {
      const outcome = results.fanout[t];
      if (outcome?.ok) for (const p of outcome.result.phases) phaseNames.add(p.phase);
    }
    const errors = targets.flatMap((t) => (results.fanout[t] && !results.fanout[t]!.ok ? [`  ${TARGETS[t].label}: ${(results.fanout[t] as { error: string }).error}`] : []));
    for (const name of phaseNames) {
      const perTarget: Partial<Record<TargetId, Outcome<FanoutPhaseReport>>> = {};
      let describe = '';
      for (const t of targets) {
        const outcome = results.fanout[t];
        const phase = outcome?.ok ? outcome.result.phases.find((p) => p.phase === name) : undefined;
        if (phase) {
          perTarget[t] = { ok: true, result: phase };
          describe = phase.mode === 'rate'
            ? `${formatNumber(phase.targetRate ?? 0)} publications/s for ${settings.phaseSeconds} s (open loop)`
            : `max throughput, ${phase.window} publications in flight end to end, ${settings.maxSeconds} s (closed loop)`;
        }
      }
      out.push('', `2. Fan-out: ${formatNumber(settings.subscribers)} subscribers on one channel, ${settings.payloadBytes} B payload — ${describe}`);
      out.push(section(targets, perTarget, phaseMetrics));
    }
    if (errors.length > 0) out.push('', '2. Fan-out failed:', ...errors);
  }
  if (run.scenarios.includes('publish')) {
    out.push('', `3. Publish throughput: one connection, ${settings.publishWindow} requests in flight, ${settings.publishSeconds} s, no subscribers`);
    out.push(section(targets, results.publish, publishMetrics));
  }
  const cluster = results['fanout-cluster'];
  if (run.scenarios.includes('fanout-cluster') && cluster) {
    // Columns: the 3-node cluster, then the single-node figures of scenario 2 from this run.
    const names = new Set<string>();
    const clusterOutcome = cluster['apix-redis'];
    if (clusterOutcome?.ok) for (const p of clusterOutcome.result.phases) names.add(p.phase);
    for (const name of names) {
      const phaseOf = (outcome: Outcome<FanoutResult> | undefined): Outcome<FanoutPhaseReport> | undefined => {
        const phase = outcome?.ok ? outcome.result.phases.find((p) => p.phase === name) : undefined;
        return phase ? { ok: true, result: phase } : undefined;
      };
      const columns: Array<[string, Outcome<FanoutPhaseReport> | undefined]> = [
        ['3 nodes (Redis)', phaseOf(clusterOutcome)],
        ['1 node (memory)', phaseOf(results.fanout.apix)],
        ['1 node (Redis)', phaseOf(results.fanout['apix-redis'])],
        ['raw ws', phaseOf(results.fanout.ws)],
      ];
      out.push('', `4. Cross-node fan-out: publish on node 1, ${formatNumber(settings.subscribers)} subscribers spread over 3 nodes — phase ${name}`);
      out.push(clusterSection(columns, phaseMetrics));
    }
    if (clusterOutcome && !clusterOutcome.ok) out.push('', `4. Cross-node fan-out failed: ${clusterOutcome.error}`);
  }
  return out.join('\n');
}

/** The cluster's figures beside single-node ones, with cluster/single ratios. */
function clusterSection<T>(columns: Array<[string, Outcome<T> | undefined]>, metrics: Metric<T>[]): string {
  const subject = columns[0]![1];
  const others = columns.slice(1);
  const header = ['', ...columns.map(([label]) => label), ...others.map(([label]) => `cluster/${label}`), 'better'];
  const rows = metrics.map((metric) => {
    const cells = columns.map(([, o]) => (o?.ok ? (metric.text ? metric.text(o.result) : formatNumber(metric.value(o.result), metric.decimals)) : '—'));
    const ratios = others.map(([, o]) => {
      if (metric.noRatio || !subject?.ok || !o?.ok) return '';
      const a = metric.value(subject.result);
      const b = metric.value(o.result);
      return a !== undefined && b !== undefined && b !== 0 ? `${formatNumber(a / b, 2)}×` : '—';
    });
    return [metric.label, ...cells, ...ratios, metric.better];
  });
  return textTable(header, rows);
}

/** Columns compared: each APIX engine against each baseline, and the Redis engine against the memory one. */
function ratioPairs(targets: TargetId[]): Array<[subject: TargetId, baseline: TargetId, label: string]> {
  const baselines = targets.filter((t) => t !== 'apix' && t !== 'apix-redis');
  const pairs: Array<[TargetId, TargetId, string]> = [];
  if (targets.includes('apix')) for (const b of baselines) pairs.push(['apix', b, `APIX/${TARGETS[b].label}`]);
  if (targets.includes('apix-redis')) {
    if (targets.includes('apix')) pairs.push(['apix-redis', 'apix', 'Redis/memory']);
    for (const b of baselines) pairs.push(['apix-redis', b, `Redis/${TARGETS[b].label}`]);
  }
  return pairs;
}

function section<T>(targets: TargetId[], outcomes: Partial<Record<TargetId, Outcome<T>>>, metrics: Metric<T>[]): string {
  const pairs = ratioPairs(targets);
  const header = ['', ...targets.map((t) => TARGETS[t].label), ...pairs.map(([, , label]) => label), 'better'];
  const result = (t: TargetId) => {
    const outcome = outcomes[t];
    return outcome?.ok ? outcome.result : undefined;
  };
  const rows = metrics.map((metric) => {
    const cells = targets.map((t) => {
      const r = result(t);
      if (!r) return outcomes[t] ? 'failed' : '—';
      return metric.text ? metric.text(r) : formatNumber(metric.value(r), metric.decimals);
    });
    const ratios = pairs.map(([subject, b]) => {
      if (metric.noRatio) return '';
      const a = result(subject);
      const o = result(b);
      const av = a ? metric.value(a) : undefined;
      const ov = o ? metric.value(o) : undefined;
      return av !== undefined && ov !== undefined && ov !== 0 ? `${formatNumber(av / ov, 2)}×` : '—';
    });
    return [metric.label, ...cells, ...ratios, metric.better];
  });
  const failures = targets.flatMap((t) => {
    const outcome = outcomes[t];
    return outcome && !outcome.ok ? [`  ${TARGETS[t].label} failed: ${outcome.error}`] : [];
  });
  return [textTable(header, rows), ...failures].join('\n');
}
