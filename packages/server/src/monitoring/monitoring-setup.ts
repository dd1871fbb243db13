import type { Provider } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AuditLogger } from '../audit/audit-logger.js';
import type { ApiXConfig } from '../config/config.js';
import type { Broker } from '../engine/broker.js';
import { METRICS } from '../http/metrics.controller.js';
import { startMetricsServer } from '../http/metrics-server.js';
import { MONITORING } from '../http/monitoring.controller.js';
import type { ServerRuntime } from '../http/server-runtime.js';
import type { AccessDirectory } from '../identity/access-directory.js';
import type { Logger } from '../logging/logger.js';
import type { DatabaseHandle } from '../storage/database.js';
import { createMonitoringSnapshotStore } from '../engine/redis-engine-config.js';
import { AlertMonitor } from './alert-monitor.js';
import { ClusterSnapshots, SNAPSHOT_TTL_MS } from './cluster-snapshots.js';
import { defaultDashboardDir, serveDashboard } from './dashboard-assets.js';
import { LatencyTracker } from './latency-tracker.js';
import { MonitoringService } from './monitoring-service.js';
import { buildPrometheusRegistry } from './prometheus-metrics.js';

/** The node's tracker, built before the data plane (which reports to it when tracking is on). */
export function createLatencyTracker(config: ApiXConfig, nodeId: string): LatencyTracker {
  return new LatencyTracker({
    nodeId,
    maxOrganizations: config.MONITORING_MAX_ORGANIZATIONS,
    windowMs: config.MONITORING_WINDOW_MS,
    timelineLength: config.MONITORING_TIMELINE_SECONDS,
    sendBufferWarnBytes: Math.floor(config.MAX_SEND_BUFFER_BYTES / 2),
  });
}

/** The storage write queues whose depth and failures are monitored. */
export interface MonitoredQueues {
  readonly audit: AuditLogger;
  readonly archive: { readonly stats: { buffered: number; dropped: number } };
  readonly connectionRows: { readonly stats: { pending: number; dropped: number; failures: number } };
}

export interface MonitoringDeps {
  readonly config: ApiXConfig;
  readonly nodeId: string;
  readonly broker: Broker;
  readonly audit: AuditLogger;
  readonly runtime: ServerRuntime;
  readonly database: DatabaseHandle;
  readonly directory: AccessDirectory;
  readonly logger: Logger;
  readonly queues: MonitoredQueues;
}

export interface Monitoring {
  /** Nest providers for the monitoring and metrics controllers. */
  readonly providers: Provider[];
  /** `/metrics` port when METRICS_PORT is set. */
  readonly metricsPort: number | undefined;
  /** Serves the dashboard at /dashboard (call before `listen`). */
  serveDashboard(app: NestFastifyApplication): Promise<void>;
  close(): Promise<void>;
}

/**
 * Everything monitoring needs besides the tracker, wired in one place so the composition
 * root stays short: queue probes, alerts, the monitoring API's service, Prometheus (on the
 * main port or its own), the dashboard's static files.
 */
export async function startMonitoring(latency: LatencyTracker, deps: MonitoringDeps): Promise<Monitoring> {
  const { config, nodeId, broker, audit, runtime, database, directory, logger, queues } = deps;
  latency.addQueue('audit', () => {
    const s = queues.audit.stats();
    return { depth: s.queued + s.spooled, failures: s.failedWrites, dropped: s.dropped + s.refused, failing: s.storageFailing };
  });
  latency.addQueue('archive', () => ({ depth: queues.archive.stats.buffered, failures: 0, dropped: queues.archive.stats.dropped }));
  latency.addQueue('connection_rows', () => {
    const s = queues.connectionRows.stats;
    return { depth: s.pending, failures: s.failures, dropped: s.dropped };
  });
  const thresholds = {
    deliveryP99Ms: config.ALERT_DELIVERY_P99_MS,
    eventLoopLagMs: config.ALERT_EVENT_LOOP_LAG_MS,
    queueDepth: config.ALERT_QUEUE_DEPTH,
    errorRatePerSecond: config.ALERT_ERROR_RATE_PER_SECOND,
  };
  const alerts = new AlertMonitor(
    { nodeId, thresholds, maxAlerts: config.MONITORING_MAX_ALERTS, platformOrganization: config.PLATFORM_ALERTS_ORGANIZATION },
    { broker, audit, logger: logger.child({ component: 'alerts' }) },
  );
  latency.onSample((tracker) => alerts.evaluate(tracker));
  // With Redis, every node shares its figures once a second so any node can answer for the cluster.
  const snapshotStore = await createMonitoringSnapshotStore(config, SNAPSHOT_TTL_MS);
  const cluster = snapshotStore ? new ClusterSnapshots(snapshotStore, nodeId, logger.child({ component: 'monitoring' })) : undefined;
  const service = new MonitoringService({ tracker: latency, alerts, thresholds, runtime, database, directory, audit, logger, ...(cluster ? { cluster } : {}) });
  if (cluster) latency.onSample(() => cluster.publish(service.sharedSnapshots()));
  const registry = buildPrometheusRegistry(latency, alerts, runtime, { organizationLabel: config.METRICS_ORGANIZATION_LABEL });
  const metricsServer = config.METRICS_PORT !== undefined ? await startMetricsServer(registry, { port: config.METRICS_PORT, host: config.METRICS_HOST }, logger) : undefined;
  return {
    providers: [
      { provide: MONITORING, useValue: service },
      { provide: METRICS, useValue: metricsServer ? null : { registry, token: config.METRICS_TOKEN } },
    ],
    metricsPort: metricsServer?.port,
    serveDashboard: async (app) => {
      if (config.DASHBOARD) await serveDashboard(app, config.DASHBOARD_DIR ?? defaultDashboardDir(), logger);
    },
    close: async () => {
      latency.close();
      await cluster?.close();
      await metricsServer?.close();
    },
  };
}
