import { z } from 'zod';

/**
 * Bodies of the monitoring API (`/api/v1/monitoring/*`), shared by the server (which builds
 * them), the OpenAPI document and the dashboard. Durations are milliseconds; rates are per
 * second over the node's last sampling second. Everything is one node's view (with Redis each
 * node answers for itself and names itself in `nodeId`) except `/dashboard`, which merges
 * every live node's figures (ADR 0022).
 */

/** Who a document covers: the caller's organisation, or (platform admins) every organisation. */
export const monitoringScopeSchema = z.enum(['organization', 'platform']);
export type MonitoringScope = z.infer<typeof monitoringScopeSchema>;

/** Percentiles of one histogram (HDR, 2 significant digits). All zero when `count` is 0. */
export const latencyPercentilesSchema = z.object({
  count: z.number().int().nonnegative(),
  mean: z.number().nonnegative(),
  p50: z.number().nonnegative(),
  p90: z.number().nonnegative(),
  p99: z.number().nonnegative(),
  p999: z.number().nonnegative(),
  max: z.number().nonnegative(),
});
export type LatencyPercentiles = z.infer<typeof latencyPercentilesSchema>;

/** publish→deliver latency of one series: `recent` covers the last one to two windows, `sinceStart` the node's life. */
export const latencySeriesSchema = z.object({
  /** A channel namespace (`agent`, `tool`, …) or an organisation id (`other` past the label cap). */
  name: z.string(),
  recent: latencyPercentilesSchema,
  sinceStart: latencyPercentilesSchema,
});
export type LatencySeries = z.infer<typeof latencySeriesSchema>;

export const latencyStatsResponseSchema = z.object({
  nodeId: z.string(),
  scope: monitoringScopeSchema,
  /** The organisation covered (organisation scope), null for the platform. */
  organizationId: z.string().nullable(),
  /** Length of one window; `recent` merges the current and the previous window. */
  windowMs: z.number().int().positive(),
  /** Publish→deliver latency (append time to the socket write, once per publication per node, weighted by its deliveries). */
  delivery: latencySeriesSchema,
  namespaces: z.array(latencySeriesSchema),
  /** Platform scope only: one series per organisation (organisations past the label cap are merged into `other`). */
  organizations: z.array(latencySeriesSchema),
  /** WebSocket ping→pong round trips of this node's connections, timed by the server. */
  rtt: latencySeriesSchema,
  /** Application heartbeat (`heartbeat.ping`/`pong`) round trips, as the clients report them in their next `heartbeat.ping`. */
  heartbeatRtt: latencySeriesSchema,
});
export type LatencyStatsResponse = z.infer<typeof latencyStatsResponseSchema>;

export const alertSeveritySchema = z.enum(['warning', 'critical']);
export const alertSchema = z.object({
  id: z.string(),
  /** `delivery_latency_p99`, `event_loop_lag`, `storage_queue_depth`, `storage_failing`, `error_rate`. */
  rule: z.string(),
  severity: alertSeveritySchema,
  state: z.enum(['raised', 'cleared']),
  /** The organisation concerned; null for a platform alert (shown to platform admins). */
  organizationId: z.string().nullable(),
  nodeId: z.string(),
  message: z.string(),
  /** The measured value that raised it (ms, rows, or events per second — see `rule`). */
  value: z.number(),
  threshold: z.number(),
  raisedAt: z.string(),
  clearedAt: z.string().nullable(),
});
export type Alert = z.infer<typeof alertSchema>;
export const alertsResponseSchema = z.object({ nodeId: z.string(), active: z.array(alertSchema), recent: z.array(alertSchema) });
export type AlertsResponse = z.infer<typeof alertsResponseSchema>;

/** One second of the node (or of one organisation on it). */
export const monitoringSampleSchema = z.object({
  /** Wall time of the sample, ms since epoch (display only). */
  at: z.number(),
  connections: z.number().int().nonnegative(),
  publishesPerSecond: z.number().nonnegative(),
  deliveriesPerSecond: z.number().nonnegative(),
  bytesInPerSecond: z.number().nonnegative(),
  bytesOutPerSecond: z.number().nonnegative(),
  /** Rate-limit refusals plus slow-consumer closes per second. */
  errorsPerSecond: z.number().nonnegative(),
  /** publish→deliver latency over that second (0 when nothing was delivered). */
  p50Ms: z.number().nonnegative(),
  p99Ms: z.number().nonnegative(),
  /** Event-loop delay p99 over that second (node-wide: the loop is shared). */
  eventLoopLagMs: z.number().nonnegative(),
});
export type MonitoringSample = z.infer<typeof monitoringSampleSchema>;

export const monitoringCountersSchema = z.object({
  publishes: z.number().int().nonnegative(),
  deliveries: z.number().int().nonnegative(),
  bytesIn: z.number().int().nonnegative(),
  bytesOut: z.number().int().nonnegative(),
  slowConsumerCloses: z.number().int().nonnegative(),
  rateLimitRefusals: z.number().int().nonnegative(),
});
export type MonitoringCounters = z.infer<typeof monitoringCountersSchema>;

export const nodeSummarySchema = z.object({
  nodeId: z.string(),
  engine: z.string(),
  version: z.string(),
  uptimeSeconds: z.number().int().nonnegative(),
  connections: z.number().int().nonnegative(),
  channels: z.number().int().nonnegative(),
  eventLoopLagMs: z.number().nonnegative(),
  /** In scope on that node, over its last second. */
  publishesPerSecond: z.number().nonnegative(),
  deliveriesPerSecond: z.number().nonnegative(),
  /** publish→deliver p99 in scope on that node over the recent window (0: nothing delivered). */
  p99Ms: z.number().nonnegative(),
});
export type NodeSummary = z.infer<typeof nodeSummarySchema>;

/**
 * The overview of the whole cluster in scope: every live node's figures merged (one node on the
 * embedded engine). Counts, rates and totals add up; `delivery` comes from the nodes' summed
 * histograms; per second, the timeline's p50/p99 and lag are the largest node's (an upper bound).
 */
export const dashboardResponseSchema = z.object({
  /** The node that answered. */
  nodeId: z.string(),
  scope: monitoringScopeSchema,
  organizationId: z.string().nullable(),
  /** Live connections in scope on every node. */
  connections: z.number().int().nonnegative(),
  /** Channels with at least one subscriber (platform scope) or in the organisation, on any node. */
  channels: z.number().int().nonnegative(),
  current: monitoringSampleSchema,
  /** Since each node started, summed. */
  totals: monitoringCountersSchema,
  /** The last samples, oldest first (one per second). */
  timeline: z.array(monitoringSampleSchema),
  delivery: latencyPercentilesSchema,
  alerts: z.array(alertSchema),
  /** One row per node whose figures are included. */
  nodes: z.array(nodeSummarySchema),
  /** True when the other nodes' figures could not be read (Redis unreachable): this node's alone. */
  partial: z.boolean(),
});
export type DashboardResponse = z.infer<typeof dashboardResponseSchema>;

export const componentStatusSchema = z.enum(['ok', 'degraded', 'down']);
export type ComponentStatus = z.infer<typeof componentStatusSchema>;
export const healthComponentSchema = z.object({
  /** `engine`, `storage`, `audit_queue`, `archive_queue`, `connection_rows_queue`, `event_loop`. */
  name: z.string(),
  status: componentStatusSchema,
  detail: z.string(),
  metrics: z.record(z.string(), z.number()),
});
export const healthResponseSchema = z.object({
  /** The worst component status. */
  status: componentStatusSchema,
  nodeId: z.string(),
  components: z.array(healthComponentSchema),
});
export type HealthResponse = z.infer<typeof healthResponseSchema>;

/** A live connection on this node, as the monitoring API lists it (organisation-scoped). */
export const liveConnectionSchema = z.object({
  connectionId: z.string(),
  sessionId: z.string(),
  organizationId: z.string(),
  userId: z.string(),
  clientType: z.string().nullable(),
  channels: z.array(z.string()),
  connectedAt: z.string(),
  /** Last WebSocket ping→pong round trip timed by the server, ms; null before the first pong. */
  rttMs: z.number().nullable(),
  /** Last application-heartbeat round trip the client reported (`heartbeat.ping` `rtt`), ms; null if it never did. */
  heartbeatRttMs: z.number().nullable(),
  bufferedBytes: z.number().int().nonnegative(),
});
export type LiveConnection = z.infer<typeof liveConnectionSchema>;
export const liveConnectionsResponseSchema = z.object({ nodeId: z.string(), items: z.array(liveConnectionSchema) });
