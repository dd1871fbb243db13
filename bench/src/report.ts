import type { BenchSettings } from './bench-settings.js';
import type { RunResults, TargetOutcomes } from './run-results.js';
import type { AnyScenario } from './scenarios/scenario.js';
import { TARGETS, type TargetId } from './targets.js';
import { formatNumber, textTable } from './text-table.js';

/** One row of a scenario's table. */
export interface Metric<T> {
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

export const MB = 1024 * 1024;

/** The whole run as text: a header, then each scenario's tables in the order they ran. */
export function renderReport(run: RunResults, scenarios: readonly AnyScenario[]): string {
  const out: string[] = [
    `APIX benchmarks — ${run.startedAt}, ${run.machine.cpus} × ${run.machine.cpuModel}, Node ${run.machine.node}, ${formatNumber(run.durationMs / 1000, 0)} s`,
    `Load average (1 min) at start ${run.loadAverage.start.toFixed(2)}, at end ${run.loadAverage.end.toFixed(2)}: anything else running on the machine skews the figures.`,
    'Ratios are APIX / baseline (and Redis/memory: APIX (Redis) / APIX): above 1 means the first has more of the figure (good for "higher", bad for "lower").',
  ];
  run.scenarios.forEach((id, i) => {
    const scenario = scenarios.find((s) => s.id === id);
    if (!scenario) return;
    out.push('', scenario.render({ number: i + 1, settings: run.settings as BenchSettings, targets: run.targets[id] ?? [], outcomes: run.results[id] ?? {} }));
  });
  return out.join('\n');
}

/**
 * A table of `metrics` (rows) by target (columns), then one ratio column per APIX variant ×
 * baseline that ran, then the `better` column; failed targets are listed under it.
 */
export function section<T>(targets: readonly TargetId[], outcomes: TargetOutcomes<T>, metrics: readonly Metric<T>[]): string {
  const subjects = targets.filter((t) => TARGETS[t].role === 'subject');
  const baselines = targets.filter((t) => TARGETS[t].role === 'baseline');
  const pairs = ratioPairs(subjects, baselines);
  const header = ['', ...targets.map((t) => TARGETS[t].label), ...pairs.map(([s, b]) => ratioLabel(s, b)), 'better'];
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
    const ratios = pairs.map(([s, b]) => {
      if (metric.noRatio) return '';
      const a = result(s);
      const o = result(b);
      const av = a ? metric.value(a) : undefined;
      const ov = o ? metric.value(o) : undefined;
      return av !== undefined && ov !== undefined && ov !== 0 ? `${formatNumber(av / ov, 2)}×` : '—';
    });
    return [metric.label, ...cells, ...ratios, metric.better];
  });
  return [textTable(header, rows), ...failures(targets, outcomes)].join('\n');
}

/**
 * Which ratios a table shows: every APIX variant against every baseline, and the Redis
 * engine against the memory one (`apix`) when both ran, so the engine's own cost reads off one column.
 */
function ratioPairs(subjects: readonly TargetId[], baselines: readonly TargetId[]): Array<readonly [TargetId, TargetId]> {
  const pairs: Array<readonly [TargetId, TargetId]> = subjects.flatMap((s) => baselines.map((b) => [s, b] as const));
  if (subjects.includes('apix-redis') && subjects.includes('apix')) pairs.push(['apix-redis', 'apix']);
  return pairs;
}

function ratioLabel(subject: TargetId, other: TargetId): string {
  return subject === 'apix-redis' && other === 'apix' ? 'Redis/memory' : `${TARGETS[subject].label}/${TARGETS[other].label}`;
}

/** "  <target> failed: <why>" for every target without figures. */
export function failures<T>(targets: readonly TargetId[], outcomes: TargetOutcomes<T>): string[] {
  return targets.flatMap((t) => {
    const outcome = outcomes[t];
    return outcome && !outcome.ok ? [`  ${TARGETS[t].label} failed: ${outcome.error.split('\n')[0]}`] : [];
  });
}

/** The same table for each part of a result (a phase, a size): `parts` picks them out of each target's result. */
export function sectionsByPart<R, P>(
  targets: readonly TargetId[],
  outcomes: TargetOutcomes<R>,
  parts: (result: R) => readonly P[],
  key: (part: P) => string,
  heading: (part: P) => string,
  metrics: readonly Metric<P>[],
  /** Printed above the failures when no target has figures. */
  headingWithoutParts: string,
): string[] {
  const keys: string[] = [];
  const headings = new Map<string, string>();
  for (const t of targets) {
    const outcome = outcomes[t];
    if (!outcome?.ok) continue;
    for (const part of parts(outcome.result)) {
      const k = key(part);
      if (!headings.has(k)) {
        keys.push(k);
        headings.set(k, heading(part));
      }
    }
  }
  const out: string[] = keys.length === 0 ? [headingWithoutParts] : [];
  for (const k of keys) {
    const perTarget: TargetOutcomes<P> = {};
    for (const t of targets) {
      const outcome = outcomes[t];
      const part = outcome?.ok ? parts(outcome.result).find((p) => key(p) === k) : undefined;
      if (part) perTarget[t] = { ok: true, result: part };
    }
    out.push(headings.get(k)!, section(targets, perTarget, metrics), '');
  }
  const failed = failures(targets, outcomes);
  if (failed.length > 0) out.push(...failed, '');
  if (keys.length === 0 && failed.length === 0) out.push('  (no results)', '');
  return out.slice(0, -1);
}
