import { randomBytes } from 'node:crypto';
import { channelKey, PROTOCOL_VERSION, type Alert } from '@apix/protocol';
import type { AuditLogger } from '../audit/audit-logger.js';
import type { Broker } from '../engine/broker.js';
import type { Logger } from '../logging/logger.js';
import { AuditActorType, AuditOutcome } from '../storage/schema.js';
import { OTHER_LABEL } from './bounded-labels.js';
import type { LatencyTracker } from './latency-tracker.js';

/** The channel (relative to the organisation) that alerts are published on. */
export const ALERTS_CHANNEL = 'system:alerts';
export const AuditAlertAction = { RAISED: 'monitoring.alert.raised', CLEARED: 'monitoring.alert.cleared' } as const;

/** Publications a percentile needs before it may raise an alert: p99 of three deliveries says little. */
const MIN_SAMPLES_FOR_LATENCY_ALERT = 20;
/** A raised alert stays raised at least this long, so a figure hovering at its threshold cannot flap every second. */
const MIN_RAISED_MS = 5_000;
/** Alert notices kept in the alerts channel's history. */
const ALERT_HISTORY_SIZE = 100;
const ALERT_HISTORY_TTL_MS = 24 * 3_600_000;

export interface AlertThresholds {
  /** publish→deliver p99 over the recent window, per organisation (ms). */
  readonly deliveryP99Ms: number;
  /** Event-loop delay p99 over the last second (ms). */
  readonly eventLoopLagMs: number;
  /** Rows waiting in any one storage write queue. */
  readonly queueDepth: number;
  /** Rate-limit refusals + slow-consumer closes per second, per organisation. */
  readonly errorRatePerSecond: number;
}

export interface AlertMonitorSettings {
  readonly nodeId: string;
  readonly thresholds: AlertThresholds;
  /** Alerts kept (active ones first; cleared ones are dropped oldest first). */
  readonly maxAlerts: number;
  /** Organisation whose `system:alerts` channel carries platform alerts (for platform admins). */
  readonly platformOrganization: string;
}

/**
 * Raises and clears alerts from the tracker's figures, once per sampled second. An alert is
 * identified by (rule, organisation): raised when its figure passes the threshold, cleared
 * when it falls back. Each transition is published as a `system_notification` event on the
 * organisation's `system:alerts` channel (platform alerts on the platform organisation's) and
 * audited. Publishing goes straight to the broker: the node speaks for itself, no member's
 * permission is involved, and it never waits for storage.
 */
export class AlertMonitor {
  readonly #settings: AlertMonitorSettings;
  readonly #broker: Broker;
  readonly #audit: AuditLogger;
  readonly #logger: Logger;
  readonly #active = new Map<string, Alert>();
  /** Monotonic time each active alert was raised. */
  readonly #raisedAt = new Map<string, number>();
  #cleared: Alert[] = [];

  constructor(settings: AlertMonitorSettings, deps: { broker: Broker; audit: AuditLogger; logger: Logger }) {
    this.#settings = settings;
    this.#broker = deps.broker;
    this.#audit = deps.audit;
    this.#logger = deps.logger;
  }

  /** Active alerts, then the most recently cleared, newest first; `organizationId` filters (null: platform alerts only). */
  list(organizationId?: string | null): { active: Alert[]; recent: Alert[] } {
    const match = (a: Alert) => organizationId === undefined || a.organizationId === organizationId;
    return {
      active: [...this.#active.values()].filter(match).reverse(),
      recent: this.#cleared.filter(match).reverse(),
    };
  }

  evaluate(tracker: LatencyTracker): void {
    const { thresholds } = this.#settings;
    for (const label of tracker.organizationLabels()) {
      if (label === OTHER_LABEL) continue; // an alert must name one organisation's channel
      const stats = tracker.organization(label)!;
      const count = tracker.recentCount(stats);
      const p99 = count >= MIN_SAMPLES_FOR_LATENCY_ALERT ? tracker.recentPercentiles(stats).p99 : 0;
      this.#check('delivery_latency_p99', label, p99, thresholds.deliveryP99Ms, 'critical', (v) => `publish→deliver p99 is ${v} ms (threshold ${thresholds.deliveryP99Ms} ms)`);
      const errors = stats.timeline.at(-1)?.errorsPerSecond ?? 0;
      this.#check('error_rate', label, errors, thresholds.errorRatePerSecond, 'warning', (v) => `${v} refused requests and slow-consumer closes per second (threshold ${thresholds.errorRatePerSecond}/s)`);
    }
    this.#check('event_loop_lag', null, tracker.eventLoopLagMs, thresholds.eventLoopLagMs, 'critical', (v) => `event-loop delay p99 is ${v} ms (threshold ${thresholds.eventLoopLagMs} ms)`);
    for (const [queue, stats] of Object.entries(tracker.queueStats())) {
      this.#check(`storage_queue_depth:${queue}`, null, stats.depth, thresholds.queueDepth, 'warning', (v) => `${v} rows waiting in the ${queue} queue (threshold ${thresholds.queueDepth})`);
      this.#check(`storage_failing:${queue}`, null, stats.failing ? 1 : 0, 0, 'critical', () => `the ${queue} queue cannot write to storage`);
    }
  }

  #check(rule: string, organizationId: string | null, value: number, threshold: number, severity: Alert['severity'], describe: (value: number) => string): void {
    const id = `${rule}|${organizationId ?? ''}`;
    const active = this.#active.get(id);
    if (value > threshold && !active) {
      const alert: Alert = {
        id: `alert_${randomBytes(8).toString('base64url')}`,
        rule,
        severity,
        state: 'raised',
        organizationId,
        nodeId: this.#settings.nodeId,
        message: describe(value),
        value,
        threshold,
        raisedAt: new Date().toISOString(),
        clearedAt: null,
      };
      this.#active.set(id, alert);
      this.#raisedAt.set(id, performance.now());
      this.#announce(alert);
    } else if (value <= threshold && active && performance.now() - (this.#raisedAt.get(id) ?? 0) >= MIN_RAISED_MS) {
      this.#active.delete(id);
      this.#raisedAt.delete(id);
      const cleared: Alert = { ...active, state: 'cleared', clearedAt: new Date().toISOString(), message: `cleared: ${active.message}` };
      this.#cleared.push(cleared);
      const room = Math.max(0, this.#settings.maxAlerts - this.#active.size);
      if (this.#cleared.length > room) this.#cleared = this.#cleared.slice(this.#cleared.length - room);
      this.#announce(cleared);
    }
  }

  #announce(alert: Alert): void {
    const organizationId = alert.organizationId ?? this.#settings.platformOrganization;
    const raised = alert.state === 'raised';
    const data = JSON.stringify({
      type: 'system_notification',
      payload: { level: raised ? (alert.severity === 'critical' ? 'critical' : 'warning') : 'info', title: `${alert.rule} ${alert.state}`, message: alert.message, alert },
      metadata: { timestamp: Date.now(), version: PROTOCOL_VERSION, source: this.#settings.nodeId },
    });
    this.#broker
      .publish(channelKey(organizationId, ALERTS_CHANNEL), data, { historySize: ALERT_HISTORY_SIZE, historyTtlMs: ALERT_HISTORY_TTL_MS })
      .catch((error: unknown) => this.#logger.warn({ err: error, rule: alert.rule }, 'alert could not be published'));
    try {
      this.#audit.record({
        organizationId,
        actorType: AuditActorType.SYSTEM,
        actorId: this.#settings.nodeId,
        action: raised ? AuditAlertAction.RAISED : AuditAlertAction.CLEARED,
        channel: ALERTS_CHANNEL,
        target: alert.rule,
        outcome: AuditOutcome.SUCCESS,
        details: { alertId: alert.id, value: alert.value, threshold: alert.threshold, severity: alert.severity, platform: alert.organizationId === null },
      });
    } catch (error) {
      this.#logger.warn({ err: error, rule: alert.rule }, 'alert could not be audited');
    }
    this.#logger.warn({ rule: alert.rule, organizationId: alert.organizationId, value: alert.value, threshold: alert.threshold }, `alert ${alert.state}`);
  }
}
