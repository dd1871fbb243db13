import {
  ApiXError,
  CloseCodes,
  type AlertsResponse,
  type ComponentStatus,
  type DashboardResponse,
  type HealthResponse,
  type LatencySeries,
  type LatencyStatsResponse,
  type LiveConnection,
} from '@apix/protocol';
import { AdminAccess, isPlatformAdmin } from '../admin/admin-access.js';
import { AdminAuditTrail } from '../admin/admin-audit-trail.js';
import type { AuditLogger } from '../audit/audit-logger.js';
import type { ServerRuntime } from '../http/server-runtime.js';
import type { AccessDirectory } from '../identity/access-directory.js';
import type { Principal } from '../identity/principal.js';
import type { Logger } from '../logging/logger.js';
import type { DatabaseHandle } from '../storage/database.js';
import type { AlertMonitor, AlertThresholds } from './alert-monitor.js';
import { merged, newHistogram, percentilesOf, type Histogram } from './latency-histogram.js';
import type { LatencyTracker, OrganizationStats } from './latency-tracker.js';
import type { ClusterSnapshots } from './cluster-snapshots.js';
import { mergeSnapshots } from './merge-snapshots.js';
import { MAX_CHANNEL_NAMES, type ScopeSnapshot } from './scope-snapshot.js';

/** A storage ping slower than this makes storage `degraded`. */
const STORAGE_PING_TIMEOUT_MS = 2_000;

export interface MonitoringServiceDeps {
  readonly tracker: LatencyTracker;
  readonly alerts: AlertMonitor;
  readonly thresholds: AlertThresholds;
  readonly runtime: ServerRuntime;
  readonly database: DatabaseHandle;
  readonly directory: AccessDirectory;
  readonly audit: AuditLogger;
  readonly logger: Logger;
  /** The other nodes' snapshots (Redis engine); undefined: this node is the cluster. */
  readonly cluster?: ClusterSnapshots;
}

/** Organisation admins see their organisation; platform admins see the platform. */
interface Scope {
  readonly platform: boolean;
  readonly organizationId: string;
}

/**
 * The documents of `/api/v1/monitoring/*`, built from the node's LatencyTracker and
 * AlertMonitor. Every read requires an organisation admin (or an API key with the admin
 * scope) and is scoped to that organisation; platform admins get the whole node.
 */
export class MonitoringService {
  readonly #deps: MonitoringServiceDeps;
  readonly #access: AdminAccess;

  constructor(deps: MonitoringServiceDeps) {
    this.#deps = deps;
    this.#access = new AdminAccess(deps.directory, new AdminAuditTrail(deps.audit, deps.logger));
  }

  get tracker(): LatencyTracker {
    return this.#deps.tracker;
  }

  async latencyStats(principal: Principal): Promise<LatencyStatsResponse> {
    const scope = await this.#scope(principal, 'monitoring.latency');
    const { tracker } = this.#deps;
    const label = scope.platform ? undefined : this.#label(scope.organizationId);
    const series = label === null ? [] : tracker.namespaceSeries(label);
    const byNamespace = new Map<string, typeof series>();
    for (const s of series) byNamespace.set(s.namespace, [...(byNamespace.get(s.namespace) ?? []), s]);
    const namespaces = [...byNamespace.entries()]
      .map(([name, list]) => seriesOf(name, list.map((s) => s.recent()), list.map((s) => s.total)))
      .sort((a, b) => a.name.localeCompare(b.name));
    const organizations: LatencySeries[] = [];
    if (scope.platform) {
      for (const org of tracker.organizationLabels()) {
        const list = series.filter((s) => s.organization === org);
        if (list.length > 0) organizations.push(seriesOf(org, list.map((s) => s.recent()), list.map((s) => s.total)));
      }
    }
    const stats = this.#stats(scope);
    return {
      nodeId: tracker.nodeId,
      scope: scope.platform ? 'platform' : 'organization',
      organizationId: scope.platform ? null : scope.organizationId,
      windowMs: tracker.settings.windowMs,
      delivery: seriesOf('delivery', series.map((s) => s.recent()), series.map((s) => s.total)),
      namespaces,
      organizations,
      rtt: stats ? { name: 'rtt', recent: tracker.recentPercentiles(stats, 'rtt'), sinceStart: percentilesOf(stats.rtt.total) } : emptySeries('rtt'),
      heartbeatRtt: stats
        ? { name: 'heartbeat_rtt', recent: tracker.recentPercentiles(stats, 'heartbeatRtt'), sinceStart: percentilesOf(stats.heartbeatRtt.total) }
        : emptySeries('heartbeat_rtt'),
    };
  }

  async alerts(principal: Principal): Promise<AlertsResponse> {
    const scope = await this.#scope(principal, 'monitoring.alerts');
    const { active, recent } = this.#deps.alerts.list(scope.platform ? undefined : scope.organizationId);
    return { nodeId: this.#deps.tracker.nodeId, active, recent };
  }

  /**
   * The overview document, merged across every live node of the cluster (ADR 0022): this
   * node's figures fresh, the others' from their snapshots (at most a second old).
   */
  async dashboard(principal: Principal): Promise<DashboardResponse> {
    const scope = await this.#scope(principal, 'monitoring.dashboard');
    const local = this.#snapshot(scope);
    // Read by organisation id, not by this node's label: labels are per node (first come, up to
    // the cap), and another node may have figures for an organisation this one has never seen.
    const others = this.#deps.cluster ? await this.#deps.cluster.others(scope.platform ? null : scope.organizationId) : { snapshots: [], partial: false };
    return {
      nodeId: this.#deps.tracker.nodeId,
      scope: scope.platform ? 'platform' : 'organization',
      organizationId: scope.platform ? null : scope.organizationId,
      ...mergeSnapshots(local, others.snapshots),
      partial: others.partial,
    };
  }

  /** This node's snapshot of every scope it has figures for, to share with the other nodes (sampler tick). */
  sharedSnapshots(): Array<readonly [string | null, ScopeSnapshot]> {
    const out: Array<readonly [string | null, ScopeSnapshot]> = [[null, this.#snapshot({ platform: true, organizationId: '' })]];
    for (const label of this.#deps.tracker.organizationLabels()) {
      // `other` is no organisation's scope: its admins see zeros, the platform sees it in the node's figures.
      if (label !== 'other') out.push([label, this.#snapshot({ platform: false, organizationId: label })]);
    }
    return out;
  }

  #snapshot(scope: Scope): ScopeSnapshot {
    const { tracker, runtime } = this.#deps;
    const stats = this.#stats(scope);
    let connections: number;
    let channelNames: string[] | null;
    let channels: number;
    if (scope.platform) {
      connections = runtime.connectionCount();
      channels = runtime.channelCount();
      channelNames = channels <= MAX_CHANNEL_NAMES && runtime.channelKeys ? [...runtime.channelKeys()] : null;
    } else {
      const live = tracker.liveConnections(scope.organizationId);
      connections = live.length;
      const names = new Set(live.flatMap((c) => [...c.subscriptions.keys()]));
      channels = names.size;
      channelNames = channels <= MAX_CHANNEL_NAMES ? [...names] : null;
    }
    return {
      nodeId: tracker.nodeId,
      engine: runtime.engine,
      version: runtime.version,
      startedAt: runtime.startedAt,
      connections,
      channels,
      channelNames,
      eventLoopLagMs: tracker.eventLoopLagMs,
      totals: stats ? { ...stats.counters } : { publishes: 0, deliveries: 0, bytesIn: 0, bytesOut: 0, slowConsumerCloses: 0, rateLimitRefusals: 0 },
      timeline: stats?.timeline ?? [],
      latency: stats ? tracker.recentHistogram(stats) : undefined,
      alerts: this.#deps.alerts.list(scope.platform ? undefined : scope.organizationId).active,
    };
  }

  async health(principal: Principal): Promise<HealthResponse> {
    await this.#scope(principal, 'monitoring.health');
    const { tracker, thresholds, runtime } = this.#deps;
    const components: HealthResponse['components'] = [];
    components.push({ name: 'engine', status: runtime.isReady() ? 'ok' : 'degraded', detail: `${runtime.engine} broker${runtime.isReady() ? '' : ' (node not ready)'}`, metrics: {} });
    const pingStartedAt = performance.now();
    let storage: ComponentStatus = 'ok';
    let storageDetail = `${this.#deps.database.kind} answers`;
    try {
      await withTimeout(this.#deps.database.ping(), STORAGE_PING_TIMEOUT_MS);
    } catch (error) {
      storage = 'down';
      storageDetail = `${this.#deps.database.kind} does not answer: ${error instanceof Error ? error.message : String(error)}`;
    }
    const queues = tracker.queueStats();
    if (storage === 'ok' && Object.values(queues).some((q) => q.failing)) {
      storage = 'degraded';
      storageDetail = 'writes are failing and being retried';
    }
    components.push({ name: 'storage', status: storage, detail: storageDetail, metrics: { pingMs: Math.round(performance.now() - pingStartedAt) } });
    for (const [name, q] of Object.entries(queues)) {
      const status: ComponentStatus = q.failing || q.depth > thresholds.queueDepth ? 'degraded' : 'ok';
      components.push({
        name: `${name}_queue`,
        status,
        detail: q.failing ? 'retrying failed writes' : q.depth > thresholds.queueDepth ? `more than ${thresholds.queueDepth} rows waiting` : 'keeping up',
        metrics: { depth: q.depth, failures: q.failures, dropped: q.dropped },
      });
    }
    const lag = tracker.eventLoopLagMs;
    const pressure = tracker.sendBufferPressure;
    components.push({
      name: 'event_loop',
      status: lag > thresholds.eventLoopLagMs ? 'degraded' : 'ok',
      detail: `delay p99 ${lag} ms over the last second`,
      metrics: { lagP99Ms: lag, connectionsOverSendBufferWarning: pressure.connectionsOver, maxBufferedBytes: pressure.maxBufferedBytes },
    });
    const rank: Record<ComponentStatus, number> = { ok: 0, degraded: 1, down: 2 };
    const status = components.reduce<ComponentStatus>((worst, c) => (rank[c.status] > rank[worst] ? c.status : worst), 'ok');
    return { status, nodeId: tracker.nodeId, components };
  }

  async liveConnections(principal: Principal): Promise<{ nodeId: string; items: LiveConnection[] }> {
    const scope = await this.#scope(principal, 'monitoring.connections');
    const { tracker } = this.#deps;
    const items = tracker.liveConnections(scope.platform ? undefined : scope.organizationId).map((c) => ({
      connectionId: c.id,
      sessionId: c.sessionId,
      organizationId: c.principal?.organizationId ?? '',
      userId: c.principal?.userId ?? '',
      clientType: c.clientType ?? null,
      channels: [...c.subscriptions.keys()],
      connectedAt: new Date(c.connectedAt).toISOString(),
      rttMs: tracker.lastRttMs(c) ?? null,
      heartbeatRttMs: tracker.lastHeartbeatRttMs(c) ?? null,
      bufferedBytes: c.socket.bufferedAmount,
    }));
    return { nodeId: tracker.nodeId, items };
  }

  /**
   * Closes one live connection of the caller's organisation on this node. `reconnect`: close
   * code 4000 (the client comes back and resumes); otherwise 4501 (it must not reconnect).
   */
  async disconnect(principal: Principal, connectionId: string, reconnect: boolean): Promise<{ connectionId: string; closeCode: number }> {
    const scope = await this.#scope(principal, 'monitoring.disconnect');
    const connection = this.#deps.tracker
      .liveConnections(scope.platform ? undefined : scope.organizationId)
      .find((c) => c.id === connectionId || c.sessionId === connectionId);
    if (!connection) throw new ApiXError('NOT_FOUND', 'no such live connection on this node');
    const closeCode = reconnect ? CloseCodes.SERVER_SHUTDOWN : CloseCodes.FORBIDDEN;
    this.#deps.audit.record({
      organizationId: connection.principal?.organizationId ?? scope.organizationId,
      actorType: principal.kind === 'api_key' ? 'api_key' : 'user',
      actorId: principal.userId,
      action: 'admin.connection.closed',
      target: connection.sessionId,
      outcome: 'success',
      details: { connectionId: connection.id, closeCode, reconnect },
    });
    connection.close(closeCode, reconnect ? 'disconnected by an administrator: reconnect' : 'disconnected by an administrator');
    return { connectionId: connection.id, closeCode };
  }

  async #scope(principal: Principal, operation: string): Promise<Scope> {
    await this.#access.requireAdmin(principal, operation);
    return { platform: isPlatformAdmin(principal), organizationId: principal.organizationId };
  }

  /** The tracker label an organisation is counted under; null if it has no series of its own (its figures are in `other`). */
  #label(organizationId: string): string | null {
    return this.#deps.tracker.hasOwnLabel(organizationId) ? organizationId : null;
  }

  #stats(scope: Scope): OrganizationStats | undefined {
    if (scope.platform) return this.#deps.tracker.node;
    return this.#label(scope.organizationId) === null ? undefined : this.#deps.tracker.organization(scope.organizationId);
  }
}

function seriesOf(name: string, recent: Histogram[], total: Histogram[]): LatencySeries {
  return { name, recent: percentilesOf(merged(recent)), sinceStart: percentilesOf(merged(total)) };
}

function emptySeries(name: string): LatencySeries {
  const empty = percentilesOf(newHistogram());
  return { name, recent: empty, sinceStart: empty };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
