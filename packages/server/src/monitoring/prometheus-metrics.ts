import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ServerRuntime } from '../http/server-runtime.js';
import type { AlertMonitor } from './alert-monitor.js';
import { merged, type Histogram } from './latency-histogram.js';
import type { LatencyTracker } from './latency-tracker.js';

/** Quantiles exported for each latency summary. */
const QUANTILES = [0.5, 0.9, 0.99, 0.999] as const;

export interface PrometheusSettings {
  /** Add an `organization` label to per-organisation series (cardinality bounded by the tracker's label cap). */
  readonly organizationLabel: boolean;
}

interface SummaryValue {
  value: number;
  labels: Record<string, string>;
  metricName?: string;
}

/**
 * A Prometheus summary whose quantiles come from HDR histograms the tracker already keeps
 * (so nothing is recorded twice on the hot path). prom-client's registry accepts any object
 * with `name`, `help`, `type` and `get()`.
 */
class HdrSummary {
  readonly type = 'summary';
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly series: () => Array<{ labels: Record<string, string>; histogram: Histogram }>,
  ) {}

  get() {
    const values: SummaryValue[] = [];
    for (const { labels, histogram } of this.series()) {
      for (const q of QUANTILES) values.push({ labels: { ...labels, quantile: String(q) }, value: histogram.totalCount > 0 ? histogram.getValueAtPercentile(q * 100) / 1000 : 0 });
      values.push({ metricName: `${this.name}_sum`, labels, value: (histogram.mean * histogram.totalCount) / 1000 });
      values.push({ metricName: `${this.name}_count`, labels, value: histogram.totalCount });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/**
 * The node's `/metrics`: prom-client's default Node.js metrics plus APIX's own, read from the
 * LatencyTracker at scrape time. Names follow Prometheus conventions (`apix_` prefix, base
 * units: seconds and bytes, `_total` for counters). Per-organisation series carry an
 * `organization` label only when configured, and then at most the tracker's label cap of them.
 */
export function buildPrometheusRegistry(tracker: LatencyTracker, alerts: AlertMonitor, runtime: ServerRuntime, settings: PrometheusSettings): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const orgLabels = settings.organizationLabel ? ['organization'] : [];

  /** Node-wide, or one value per organisation label. */
  const perOrganization = (read: (stats: NonNullable<ReturnType<LatencyTracker['organization']>>) => number) => {
    if (!settings.organizationLabel) return [{ labels: {}, value: read(tracker.node) }];
    return tracker.organizationLabels().map((label) => ({ labels: { organization: label }, value: read(tracker.organization(label) ?? tracker.node) }));
  };
  const counter = (name: string, help: string, read: Parameters<typeof perOrganization>[0]) =>
    new Counter({
      name,
      help,
      labelNames: orgLabels,
      registers: [registry],
      collect() {
        this.reset();
        for (const { labels, value } of perOrganization(read)) this.inc(labels, value);
      },
    });
  counter('apix_publications_total', 'Publications accepted from clients on this node.', (s) => s.counters.publishes);
  counter('apix_deliveries_total', 'Publications written to subscriber sockets on this node.', (s) => s.counters.deliveries);
  counter('apix_received_bytes_total', 'WebSocket frame bytes received from clients.', (s) => s.counters.bytesIn);
  counter('apix_sent_bytes_total', 'Event frame bytes written to subscriber sockets.', (s) => s.counters.bytesOut);
  counter('apix_slow_consumer_closes_total', 'Connections closed because their send buffer passed the cap.', (s) => s.counters.slowConsumerCloses);
  counter('apix_rate_limited_requests_total', 'Requests refused by the per-connection rate limit.', (s) => s.counters.rateLimitRefusals);

  new Gauge({
    name: 'apix_connections',
    help: 'Open, authenticated WebSocket connections on this node.',
    labelNames: orgLabels,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, value } of perOrganization((s) => s.connections)) this.set(labels, value);
    },
  });
  new Gauge({
    name: 'apix_channels',
    help: 'Channels with at least one subscriber on this node.',
    registers: [registry],
    collect() {
      this.set(runtime.channelCount());
    },
  });
  new Gauge({
    name: 'apix_queue_groups',
    help: 'Queue groups with members on this node (each runs one claim pass per quarter idle time).',
    registers: [registry],
    collect() {
      this.set(runtime.queueGroups?.().groups ?? 0);
    },
  });
  const queueGroupCounter = (name: string, help: string, read: (s: ReturnType<NonNullable<ServerRuntime['queueGroups']>>) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        const stats = runtime.queueGroups?.();
        if (stats) this.inc(read(stats));
      },
    });
  queueGroupCounter('apix_queue_group_claimed_total', "Events claimed from a queue-group member that stopped (idle past the group idle time) for a live one.", (s) => s.claimed);
  queueGroupCounter('apix_queue_group_released_total', 'Events a queue-group member that unsubscribed gave back to its group unacked, claimable by another member at once.', (s) => s.released);
  queueGroupCounter('apix_queue_group_gone_total', 'Queue-group events found trimmed from the log while still pending (retention shorter than the idle time).', (s) => s.gone);
  new Gauge({
    name: 'apix_event_loop_lag_seconds',
    help: 'Event-loop delay p99 over the last second.',
    registers: [registry],
    collect() {
      this.set(tracker.eventLoopLagMs / 1000);
    },
  });
  new Gauge({
    name: 'apix_send_buffer_pressure_connections',
    help: 'Connections whose unsent bytes passed the warning level at the last sweep.',
    registers: [registry],
    collect() {
      this.set(tracker.sendBufferPressure.connectionsOver);
    },
  });
  new Gauge({
    name: 'apix_send_buffer_max_bytes',
    help: 'Largest send buffer of any connection at the last sweep.',
    registers: [registry],
    collect() {
      this.set(tracker.sendBufferPressure.maxBufferedBytes);
    },
  });
  const queueGauge = (name: string, help: string, read: (q: ReturnType<LatencyTracker['queueStats']>[string]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['queue'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [queue, stats] of Object.entries(tracker.queueStats())) this.set({ queue }, read(stats));
      },
    });
  queueGauge('apix_storage_queue_depth', 'Rows waiting to be written, per storage queue.', (q) => q.depth);
  new Counter({
    name: 'apix_storage_write_failures_total',
    help: 'Failed storage writes (retried), per queue.',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [queue, stats] of Object.entries(tracker.queueStats())) this.inc({ queue }, stats.failures);
    },
  });
  new Counter({
    name: 'apix_storage_dropped_rows_total',
    help: 'Rows dropped by a full storage queue, per queue.',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [queue, stats] of Object.entries(tracker.queueStats())) this.inc({ queue }, stats.dropped);
    },
  });
  new Gauge({
    name: 'apix_alerts_active',
    help: 'Alerts currently raised on this node.',
    registers: [registry],
    collect() {
      this.set(alerts.list().active.length);
    },
  });

  registry.registerMetric(
    new HdrSummary('apix_delivery_latency_seconds', 'Publish (append) to socket write, per delivery, since the node started.', () => {
      const byKey = new Map<string, { labels: Record<string, string>; histograms: Histogram[] }>();
      for (const s of tracker.namespaceSeries()) {
        const labels: Record<string, string> = settings.organizationLabel ? { namespace: s.namespace, organization: s.organization } : { namespace: s.namespace };
        const key = JSON.stringify(labels);
        const entry = byKey.get(key) ?? { labels, histograms: [] };
        entry.histograms.push(s.total);
        byKey.set(key, entry);
      }
      return [...byKey.values()].map(({ labels, histograms }) => ({ labels, histogram: merged(histograms) }));
    }) as never,
  );
  registry.registerMetric(
    new HdrSummary('apix_connection_rtt_seconds', 'WebSocket ping to pong round trip, since the node started.', () => [{ labels: {}, histogram: tracker.node.rtt.total }]) as never,
  );
  registry.registerMetric(
    new HdrSummary('apix_heartbeat_rtt_seconds', 'Application heartbeat round trip as the clients report it, since the node started.', () => [
      { labels: {}, histogram: tracker.node.heartbeatRtt.total },
    ]) as never,
  );
  return registry;
}
