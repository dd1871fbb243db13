import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { CloseCodes, type ChannelName, type LatencyPercentiles, type MonitoringCounters, type MonitoringSample, type PublishResult } from '@apix/protocol';
import type { BrokerPublication } from '../engine/broker.js';
import type { Principal } from '../identity/principal.js';
import type { Connection } from '../realtime/connection.js';
import type { ConnectionProbe } from '../realtime/connection-manager.js';
import type { FanOutProbe } from '../realtime/event-router.js';
import type { RealtimeObserver } from '../realtime/realtime-observer.js';
import { BoundedLabels } from './bounded-labels.js';
import { newHistogram, percentilesOf, recordInto, type Histogram } from './latency-histogram.js';

/** How often the sampler runs: rates are per this period, timelines have one point per period. */
export const SAMPLE_INTERVAL_MS = 1_000;
/** Channel keys remembered with their series; past this the map is cleared and rebuilt from traffic. */
const MAX_ROUTES = 10_000;
/** Event-loop delay sampling resolution. */
const EVENT_LOOP_RESOLUTION_MS = 10;

export interface LatencyTrackerSettings {
  readonly nodeId: string;
  /** Organisations with their own series; later ones are counted under `other`. */
  readonly maxOrganizations: number;
  /** Length of one latency window (`recent` covers one to two of them). */
  readonly windowMs: number;
  /** Samples kept per timeline (one per second). */
  readonly timelineLength: number;
  /** A connection with more unsent bytes than this counts as under send-buffer pressure. */
  readonly sendBufferWarnBytes: number;
  /** Wall clock for publish→deliver latency (the append time comes from the engine, maybe another node). Tests inject one. */
  readonly now?: () => number;
}

/** Depth and failures of one storage write queue (audit rows, archive, connection rows). */
export interface QueueStats {
  readonly depth: number;
  readonly failures: number;
  readonly dropped: number;
  /** The queue's last write failed and it is retrying. */
  readonly failing?: boolean;
}

/**
 * Latency histograms that fill for one second and are then folded into the windows: the hot
 * path records into `second` only (one HDR record, no allocation), the sampler does the rest.
 */
class LatencyAccumulator {
  readonly second = newHistogram();
  readonly total = newHistogram();
  #current = newHistogram();
  #previous = newHistogram();

  /** Moves the last second into the windows and the total; returns nothing, `second` is then empty. */
  fold(): void {
    if (this.second.totalCount === 0) return;
    this.total.add(this.second);
    this.#current.add(this.second);
    this.second.reset();
  }

  rotate(): void {
    const reused = this.#previous;
    reused.reset();
    this.#previous = this.#current;
    this.#current = reused;
  }

  /** Current + previous window, summed into `into` (reset first). */
  recentInto(into: Histogram): Histogram {
    into.reset();
    if (this.#current.totalCount > 0) into.add(this.#current);
    if (this.#previous.totalCount > 0) into.add(this.#previous);
    return into;
  }

  get recentCount(): number {
    return this.#current.totalCount + this.#previous.totalCount;
  }
}

/** A latency series of one (organisation label, channel namespace). */
class NamespaceSeries {
  readonly latency = new LatencyAccumulator();
  /** Set when `latency.second` has records the sampler has not folded yet. */
  dirty = false;
  constructor(
    readonly organization: OrganizationStats,
    readonly namespace: string,
  ) {}
}

class Counters implements MonitoringCounters {
  publishes = 0;
  deliveries = 0;
  bytesIn = 0;
  bytesOut = 0;
  slowConsumerCloses = 0;
  rateLimitRefusals = 0;
}

/** What the tracker keeps for one organisation label (or for the whole node). */
class OrganizationStats {
  readonly counters = new Counters();
  readonly latency = new LatencyAccumulator();
  readonly rtt = new LatencyAccumulator();
  /** Application-heartbeat round trips as the clients report them (kept apart from `rtt`: another measurement). */
  readonly heartbeatRtt = new LatencyAccumulator();
  readonly timeline: MonitoringSample[] = [];
  connections = 0;
  #last: MonitoringCounters = new Counters();
  constructor(readonly label: string) {}

  /** Closes one second: appends its sample to the timeline (bounded). */
  sample(at: number, elapsedSeconds: number, eventLoopLagMs: number, timelineLength: number): MonitoringSample {
    const c = this.counters;
    const rate = (now: number, before: number) => Math.max(0, (now - before) / elapsedSeconds);
    const second = this.latency.second;
    const sample: MonitoringSample = {
      at,
      connections: this.connections,
      publishesPerSecond: round(rate(c.publishes, this.#last.publishes)),
      deliveriesPerSecond: round(rate(c.deliveries, this.#last.deliveries)),
      bytesInPerSecond: round(rate(c.bytesIn, this.#last.bytesIn)),
      bytesOutPerSecond: round(rate(c.bytesOut, this.#last.bytesOut)),
      errorsPerSecond: round(rate(c.rateLimitRefusals + c.slowConsumerCloses, this.#last.rateLimitRefusals + this.#last.slowConsumerCloses)),
      p50Ms: second.totalCount > 0 ? second.getValueAtPercentile(50) : 0,
      p99Ms: second.totalCount > 0 ? second.getValueAtPercentile(99) : 0,
      eventLoopLagMs,
    };
    this.#last = { ...c };
    this.timeline.push(sample);
    if (this.timeline.length > timelineLength) this.timeline.shift();
    return sample;
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Something that wants every closed second (the alert monitor). */
export type SampleListener = (tracker: LatencyTracker) => void;

/**
 * The seed's LatencyTracker: publish→deliver latency per channel namespace and organisation
 * (HDR histograms), WebSocket round-trip times, throughput, event-loop lag, send-buffer
 * pressure, slow-consumer closes, rate-limit refusals and storage queue depths.
 *
 * Cost model: the data plane calls in once per publication per node (not per subscriber: the
 * latency is recorded with the delivery count as its weight), once per inbound frame (a byte
 * counter), once per pong or reported heartbeat round trip and once per connection per housekeeping sweep. Each call is a few
 * additions and at most one HDR record — no allocation. Everything else (windows, rates,
 * timelines, alerts) happens in one sampler tick per second whose work grows with the series
 * that saw traffic, bounded by the organisation label cap.
 */
export class LatencyTracker implements RealtimeObserver, FanOutProbe, ConnectionProbe {
  readonly nodeId: string;
  readonly settings: LatencyTrackerSettings;
  readonly node = new OrganizationStats('node');
  readonly #organizations = new Map<string, OrganizationStats>();
  readonly #labels: BoundedLabels;
  readonly #series = new Map<string, NamespaceSeries>();
  readonly #routes = new Map<string, NamespaceSeries>();
  readonly #dirty: NamespaceSeries[] = [];
  /** Live connections per organisation id (real ids, not labels: the monitoring API lists them). */
  readonly #live = new Map<string, Set<Connection>>();
  readonly #lastRtt = new WeakMap<Connection, number>();
  readonly #lastHeartbeatRtt = new WeakMap<Connection, number>();
  readonly #queues = new Map<string, () => QueueStats>();
  readonly #listeners: SampleListener[] = [];
  readonly #now: () => number;
  readonly #loop: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;
  readonly #scratch = newHistogram();
  #lastTickAt = performance.now();
  #windowStartedAt = performance.now();
  #eventLoopLagMs = 0;
  #pendingBytes: (() => Iterable<number>) | undefined;
  #lastPressure = { connectionsOver: 0, maxBufferedBytes: 0 };

  constructor(settings: LatencyTrackerSettings) {
    this.settings = settings;
    this.nodeId = settings.nodeId;
    this.#labels = new BoundedLabels(settings.maxOrganizations);
    this.#now = settings.now ?? Date.now;
    this.#loop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    this.#loop.enable();
    this.#timer = setInterval(() => this.tick(), SAMPLE_INTERVAL_MS);
    this.#timer.unref();
  }

  // ---- hot path ---------------------------------------------------------------------------

  fannedOut(channelKey: string, publication: BrokerPublication, deliveries: number, frameBytes: number): void {
    const series = this.#routes.get(channelKey) ?? this.#route(channelKey);
    const stats = series.organization;
    stats.counters.deliveries += deliveries;
    stats.counters.bytesOut += frameBytes * deliveries;
    this.node.counters.deliveries += deliveries;
    this.node.counters.bytesOut += frameBytes * deliveries;
    if (publication.publishedAt === undefined) return;
    recordInto(series.latency.second, this.#now() - publication.publishedAt, deliveries);
    if (!series.dirty) {
      series.dirty = true;
      this.#dirty.push(series);
    }
  }

  pong(connection: Connection, rttMs: number): void {
    this.#lastRtt.set(connection, Math.round(rttMs * 10) / 10);
    recordInto(this.node.rtt.second, rttMs, 1);
    const organizationId = connection.principal?.organizationId;
    if (organizationId !== undefined) recordInto(this.#stats(organizationId).rtt.second, rttMs, 1);
  }

  heartbeatRtt(connection: Connection, rttMs: number): void {
    this.#lastHeartbeatRtt.set(connection, rttMs);
    recordInto(this.node.heartbeatRtt.second, rttMs, 1);
    const organizationId = connection.principal?.organizationId;
    if (organizationId !== undefined) recordInto(this.#stats(organizationId).heartbeatRtt.second, rttMs, 1);
  }

  received(connection: Connection, bytes: number): void {
    this.node.counters.bytesIn += bytes;
    const organizationId = connection.principal?.organizationId;
    if (organizationId !== undefined) this.#stats(organizationId).counters.bytesIn += bytes;
  }

  /**
   * Where send-buffer pressure is read at each tick: the unsent bytes of the connections that
   * can be near the cap (ConnectionManager.backloggedPendingBytes) — never a walk over all.
   */
  watchSendBuffers(source: () => Iterable<number>): void {
    this.#pendingBytes = source;
  }

  // ---- observer seam ------------------------------------------------------------------------

  connectionOpened(connection: Connection): void {
    const organizationId = connection.principal!.organizationId;
    let live = this.#live.get(organizationId);
    if (!live) this.#live.set(organizationId, (live = new Set()));
    live.add(connection);
    this.#stats(organizationId).connections++;
    this.node.connections++;
  }

  connectionClosed(connection: Connection, code: number): void {
    const organizationId = connection.principal!.organizationId;
    const live = this.#live.get(organizationId);
    if (live?.delete(connection)) {
      if (live.size === 0) this.#live.delete(organizationId);
      this.#stats(organizationId).connections--;
      this.node.connections--;
    }
    if (code === CloseCodes.SLOW_CONSUMER) {
      this.#stats(organizationId).counters.slowConsumerCloses++;
      this.node.counters.slowConsumerCloses++;
    }
  }

  published(principal: Principal, _result: PublishResult): void {
    this.#stats(principal.organizationId).counters.publishes++;
    this.node.counters.publishes++;
  }

  rateLimited(connection: Connection): void {
    this.node.counters.rateLimitRefusals++;
    const organizationId = connection.principal?.organizationId;
    if (organizationId !== undefined) this.#stats(organizationId).counters.rateLimitRefusals++;
  }

  // ---- sampler ------------------------------------------------------------------------------

  /** Closes the current second. Runs every SAMPLE_INTERVAL_MS; public so tests can drive it. */
  tick(): void {
    const now = performance.now();
    const elapsedSeconds = Math.max(0.001, (now - this.#lastTickAt) / 1_000);
    this.#lastTickAt = now;
    const rotate = now - this.#windowStartedAt >= this.settings.windowMs;
    if (rotate) this.#windowStartedAt = now;

    for (const series of this.#dirty) {
      series.organization.latency.second.add(series.latency.second);
      series.latency.fold();
      series.dirty = false;
    }
    this.#dirty.length = 0;

    this.#eventLoopLagMs = this.#loop.count > 0 ? round(this.#loop.percentile(99) / 1e6) : 0;
    this.#loop.reset();
    const at = Date.now();
    const { timelineLength } = this.settings;
    for (const stats of this.#organizations.values()) {
      if (stats.latency.second.totalCount > 0) this.node.latency.second.add(stats.latency.second);
      stats.sample(at, elapsedSeconds, this.#eventLoopLagMs, timelineLength);
      stats.latency.fold();
      stats.rtt.fold();
      stats.heartbeatRtt.fold();
    }
    this.node.sample(at, elapsedSeconds, this.#eventLoopLagMs, timelineLength);
    this.node.latency.fold();
    this.node.rtt.fold();
    this.node.heartbeatRtt.fold();
    if (rotate) {
      for (const series of this.#series.values()) series.latency.rotate();
      for (const stats of this.#organizations.values()) {
        stats.latency.rotate();
        stats.rtt.rotate();
        stats.heartbeatRtt.rotate();
      }
      this.node.latency.rotate();
      this.node.rtt.rotate();
      this.node.heartbeatRtt.rotate();
    }
    if (this.#pendingBytes) {
      let over = 0;
      let max = 0;
      for (const bytes of this.#pendingBytes()) {
        if (bytes > max) max = bytes;
        if (bytes > this.settings.sendBufferWarnBytes) over++;
      }
      this.#lastPressure = { connectionsOver: over, maxBufferedBytes: max };
    }
    for (const listener of this.#listeners) listener(this);
  }

  onSample(listener: SampleListener): void {
    this.#listeners.push(listener);
  }

  // ---- reading ------------------------------------------------------------------------------

  get eventLoopLagMs(): number {
    return this.#eventLoopLagMs;
  }

  /** At the last tick: connections whose unsent bytes passed the warning level, and the most any held (0 when none was past the socket's high-water mark). */
  get sendBufferPressure(): { readonly connectionsOver: number; readonly maxBufferedBytes: number } {
    return this.#lastPressure;
  }

  /** Reports a storage write queue's depth and failures (`audit`, `archive`, `connection_rows`). */
  addQueue(name: string, probe: () => QueueStats): void {
    this.#queues.set(name, probe);
  }

  queueStats(): Record<string, QueueStats> {
    return Object.fromEntries([...this.#queues].map(([name, probe]) => [name, probe()]));
  }

  /** Organisation labels with their own stats (capped; may include `other`). */
  organizationLabels(): string[] {
    return [...this.#organizations.keys()];
  }

  /** The stats an organisation id is counted under (its own, or `other` past the cap); undefined if never seen. */
  organization(organizationId: string): OrganizationStats | undefined {
    return this.#organizations.get(this.#labels.has(organizationId) ? organizationId : 'other');
  }

  /** Whether the organisation has its own label (false: its figures are merged into `other`). */
  hasOwnLabel(organizationId: string): boolean {
    return this.#labels.has(organizationId);
  }

  /** Namespace series of one organisation label, or of every label (undefined). */
  namespaceSeries(organizationLabel?: string): Array<{ organization: string; namespace: string; total: Histogram; recent: () => Histogram }> {
    const out = [];
    for (const series of this.#series.values()) {
      if (organizationLabel !== undefined && series.organization.label !== organizationLabel) continue;
      out.push({
        organization: series.organization.label,
        namespace: series.namespace,
        total: series.latency.total,
        recent: () => series.latency.recentInto(newHistogram()),
      });
    }
    return out;
  }

  /** Recent publish→deliver p99 of one stats object, computed into a reused scratch histogram. */
  recentPercentiles(stats: OrganizationStats, which: 'latency' | 'rtt' | 'heartbeatRtt' = 'latency'): LatencyPercentiles {
    return percentilesOf(stats[which].recentInto(this.#scratch));
  }

  /** Recent publish→deliver latency of one stats object, as a new histogram (to merge with other nodes'). */
  recentHistogram(stats: OrganizationStats): Histogram {
    return stats.latency.recentInto(newHistogram());
  }

  recentCount(stats: OrganizationStats): number {
    return stats.latency.recentCount;
  }

  liveConnections(organizationId?: string): Connection[] {
    if (organizationId !== undefined) return [...(this.#live.get(organizationId) ?? [])];
    return [...this.#live.values()].flatMap((set) => [...set]);
  }

  lastRttMs(connection: Connection): number | undefined {
    return this.#lastRtt.get(connection);
  }

  /** The last application-heartbeat round trip the client reported. */
  lastHeartbeatRttMs(connection: Connection): number | undefined {
    return this.#lastHeartbeatRtt.get(connection);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#loop.disable();
  }

  // ---- internals ----------------------------------------------------------------------------

  #stats(organizationId: string): OrganizationStats {
    const label = this.#labels.label(organizationId);
    let stats = this.#organizations.get(label);
    if (!stats) this.#organizations.set(label, (stats = new OrganizationStats(label)));
    return stats;
  }

  /** Resolves a channel key (`org/namespace:…`) to its series; cached, the cache bounded. */
  #route(channelKey: string): NamespaceSeries {
    const slash = channelKey.indexOf('/');
    const organizationId = slash > 0 ? channelKey.slice(0, slash) : 'unknown';
    const channel = channelKey.slice(slash + 1) as ChannelName;
    const colon = channel.indexOf(':');
    const namespace = colon > 0 ? channel.slice(0, colon) : channel;
    const stats = this.#stats(organizationId);
    const id = `${stats.label}\u0000${namespace}`;
    let series = this.#series.get(id);
    if (!series) this.#series.set(id, (series = new NamespaceSeries(stats, namespace)));
    // A plain map cleared when full: rebuilding costs one parse per channel key, and an
    // unbounded set of channel keys can never grow it past MAX_ROUTES.
    if (this.#routes.size >= MAX_ROUTES) this.#routes.clear();
    this.#routes.set(channelKey, series);
    return series;
  }
}

export type { OrganizationStats };
