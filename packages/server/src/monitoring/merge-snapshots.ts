import type { Alert, DashboardResponse, MonitoringCounters, MonitoringSample, NodeSummary } from '@apix/protocol';
import { merged, percentilesOf } from './latency-histogram.js';
import type { ScopeSnapshot } from './scope-snapshot.js';

export type MergedDashboard = Pick<DashboardResponse, 'connections' | 'channels' | 'current' | 'totals' | 'timeline' | 'delivery' | 'alerts' | 'nodes'>;

const COUNTERS: ReadonlyArray<keyof MonitoringCounters> = ['publishes', 'deliveries', 'bytesIn', 'bytesOut', 'slowConsumerCloses', 'rateLimitRefusals'];
const RATES = ['publishesPerSecond', 'deliveriesPerSecond', 'bytesInPerSecond', 'bytesOutPerSecond', 'errorsPerSecond'] as const;

/**
 * The dashboard document of a scope from every node's snapshot (the local one first, fresh).
 *
 * - counts, totals and rates add up;
 * - recent latency percentiles come from the sum of the nodes' HDR histograms: exact, never an
 *   average of percentiles;
 * - per second, the timeline's p50/p99 and event-loop lag are the largest of the nodes'. A
 *   node's per-second histograms are not shipped (a second's worth per node per scope would
 *   be most of the snapshot), and the largest per-node p99 is an upper bound of the merged p99
 *   (no node has more than 1 % above its own, so the sum has no more than 1 % above the largest);
 * - channels: the union of the names when every node named them, else the sum (a channel with
 *   subscribers on two nodes then counts twice).
 */
export function mergeSnapshots(local: ScopeSnapshot, others: readonly ScopeSnapshot[]): MergedDashboard {
  const all = [local, ...others];
  const connections = sum(all, (s) => s.connections);
  const totals = Object.fromEntries(COUNTERS.map((k) => [k, sum(all, (s) => s.totals[k])])) as unknown as MonitoringCounters;
  const last = all.map((s) => s.timeline.at(-1));
  const current: MonitoringSample = {
    at: local.timeline.at(-1)?.at ?? Date.now(),
    connections,
    ...(Object.fromEntries(RATES.map((k) => [k, round(sum(last, (t) => t?.[k] ?? 0))])) as Record<(typeof RATES)[number], number>),
    p50Ms: Math.max(0, ...last.map((t) => t?.p50Ms ?? 0)),
    p99Ms: Math.max(0, ...last.map((t) => t?.p99Ms ?? 0)),
    eventLoopLagMs: Math.max(0, ...all.map((s) => s.eventLoopLagMs)),
  };
  const alerts = new Map<string, Alert>();
  for (const s of all) for (const a of s.alerts) alerts.set(a.id, a);
  const nodes: NodeSummary[] = all
    .map((s) => {
      const t = s.timeline.at(-1);
      return {
        nodeId: s.nodeId,
        engine: s.engine,
        version: s.version,
        uptimeSeconds: Math.max(0, Math.round((Date.now() - s.startedAt) / 1000)),
        connections: s.connections,
        channels: s.channels,
        eventLoopLagMs: s.eventLoopLagMs,
        publishesPerSecond: t?.publishesPerSecond ?? 0,
        deliveriesPerSecond: t?.deliveriesPerSecond ?? 0,
        p99Ms: s.latency && s.latency.totalCount > 0 ? s.latency.getValueAtPercentile(99) : 0,
      };
    })
    .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  return {
    connections,
    channels: channelCount(all),
    current,
    totals,
    timeline: others.length === 0 ? [...local.timeline] : mergedTimeline(local, others),
    delivery: percentilesOf(merged(all.flatMap((s) => (s.latency ? [s.latency] : [])))),
    alerts: [...alerts.values()].sort((a, b) => a.raisedAt.localeCompare(b.raisedAt)),
    nodes,
  };
}

function channelCount(all: readonly ScopeSnapshot[]): number {
  if (all.some((s) => s.channelNames === null)) return sum(all, (s) => s.channels);
  return new Set(all.flatMap((s) => s.channelNames!)).size;
}

/**
 * Per-second samples of every node on one time axis: the local node's last sample is second 0,
 * another node's samples land on the nearest second by their wall time (nodes tick at the same
 * rate, out of phase). Seconds some node has not reported yet (its snapshot is up to a tick
 * older) are left out, so the newest point never shows a dip that is only a missing node.
 */
function mergedTimeline(local: ScopeSnapshot, others: readonly ScopeSnapshot[]): MonitoringSample[] {
  const reference = local.timeline.at(-1)?.at;
  if (reference === undefined) return [];
  const length = Math.min(local.timeline.length, Math.max(...others.map((s) => s.timeline.length)));
  const buckets = new Map<number, MonitoringSample>();
  let newest = 0;
  for (const s of [local, ...others]) {
    const own = new Map<number, MonitoringSample>();
    for (const t of s.timeline) own.set(Math.round((t.at - reference) / 1000), t); // a later sample wins a shared second
    if (own.size === 0) continue;
    newest = Math.min(newest, Math.max(...own.keys()));
    for (const [second, t] of own) {
      const b = buckets.get(second);
      buckets.set(second, b ? add(b, t) : { ...t, at: reference + second * 1000 });
    }
  }
  const out: MonitoringSample[] = [];
  for (let second = newest - length + 1; second <= newest; second++) {
    const b = buckets.get(second);
    if (b) out.push(b);
  }
  return out;
}

function add(a: MonitoringSample, b: MonitoringSample): MonitoringSample {
  return {
    at: a.at,
    connections: a.connections + b.connections,
    publishesPerSecond: round(a.publishesPerSecond + b.publishesPerSecond),
    deliveriesPerSecond: round(a.deliveriesPerSecond + b.deliveriesPerSecond),
    bytesInPerSecond: round(a.bytesInPerSecond + b.bytesInPerSecond),
    bytesOutPerSecond: round(a.bytesOutPerSecond + b.bytesOutPerSecond),
    errorsPerSecond: round(a.errorsPerSecond + b.errorsPerSecond),
    p50Ms: Math.max(a.p50Ms, b.p50Ms),
    p99Ms: Math.max(a.p99Ms, b.p99Ms),
    eventLoopLagMs: Math.max(a.eventLoopLagMs, b.eventLoopLagMs),
  };
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += f(item);
  return total;
}

const round = (n: number) => Math.round(n * 100) / 100;
