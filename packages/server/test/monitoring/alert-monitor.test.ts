import { afterEach, describe, expect, it } from 'vitest';
import { AuditLogger } from '../../src/audit/audit-logger.js';
import { MemoryBroker } from '../../src/engine/memory-broker.js';
import { createLogger } from '../../src/logging/logger.js';
import { ALERTS_CHANNEL, AlertMonitor, AuditAlertAction } from '../../src/monitoring/alert-monitor.js';
import { LatencyTracker } from '../../src/monitoring/latency-tracker.js';
import type { AuditRowInput } from '../../src/storage/audit-repository.js';

/** The AlertMonitor over a real tracker, a real memory broker and a real AuditLogger writing into an array. */

const now = 5_000_000;
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function setup(queueDepth = { value: 0, failing: false }) {
  const tracker = new LatencyTracker({ nodeId: 'node_a', maxOrganizations: 10, windowMs: 60_000, timelineLength: 10, sendBufferWarnBytes: 1_000, now: () => now });
  tracker.addQueue('audit', () => ({ depth: queueDepth.value, failures: 0, dropped: 0, failing: queueDepth.failing }));
  const broker = new MemoryBroker();
  const rows: AuditRowInput[] = [];
  const audit = new AuditLogger({ insertBatch: async (batch) => void rows.push(...batch) }, { flushIntervalMs: 10 });
  const monitor = new AlertMonitor(
    { nodeId: 'node_a', thresholds: { deliveryP99Ms: 100, eventLoopLagMs: 10_000, queueDepth: 50, errorRatePerSecond: 1_000 }, maxAlerts: 10, platformOrganization: 'ops' },
    { broker, audit, logger: createLogger('silent') },
  );
  closers.push(() => tracker.close(), () => broker.close(), () => audit.close({ timeoutMs: 1_000 }));
  return { tracker, broker, audit, rows, monitor };
}

async function noticesOn(broker: MemoryBroker, key: string): Promise<Array<{ type: string; payload: { level: string; alert: { rule: string; state: string } } }>> {
  const slice = await broker.history(key, { limit: 100 });
  return slice.publications.map((p) => JSON.parse(p.data));
}

describe('AlertMonitor', () => {
  it('raises a p99 alert for the organisation whose deliveries are late, publishes it on its system:alerts and audits it', async () => {
    const { tracker, broker, audit, rows, monitor } = setup();
    for (let i = 0; i < 30; i++) tracker.fannedOut('acme/agent:slow', { offset: i + 1, data: '{}', publishedAt: now - 400 }, 1, 10);
    for (let i = 0; i < 30; i++) tracker.fannedOut('globex/agent:fast', { offset: i + 1, data: '{}', publishedAt: now - 2 }, 1, 10);
    tracker.tick();
    monitor.evaluate(tracker);

    expect(monitor.list('acme').active).toMatchObject([{ rule: 'delivery_latency_p99', organizationId: 'acme', severity: 'critical', threshold: 100 }]);
    expect(monitor.list('globex').active).toEqual([]);
    const notices = await noticesOn(broker, `acme/${ALERTS_CHANNEL}`);
    expect(notices).toMatchObject([{ type: 'system_notification', payload: { level: 'critical', alert: { rule: 'delivery_latency_p99', state: 'raised' } } }]);
    expect(await noticesOn(broker, `globex/${ALERTS_CHANNEL}`)).toEqual([]);
    await audit.flush();
    expect(rows).toMatchObject([{ organizationId: 'acme', action: AuditAlertAction.RAISED, actorType: 'system', actorId: 'node_a', target: 'delivery_latency_p99' }]);

    // Evaluated again while still late: nothing new (one notice per transition).
    monitor.evaluate(tracker);
    expect(await noticesOn(broker, `acme/${ALERTS_CHANNEL}`)).toHaveLength(1);
  });

  it('sends platform alerts to the platform organisation and holds an alert at least a few seconds before clearing it', async () => {
    const depth = { value: 80, failing: false };
    const { tracker, broker, monitor } = setup(depth);
    tracker.tick();
    monitor.evaluate(tracker);
    expect(monitor.list(null).active.map((a) => a.rule)).toEqual(['storage_queue_depth:audit']);
    expect((await noticesOn(broker, `ops/${ALERTS_CHANNEL}`))[0]!.payload.alert).toMatchObject({ rule: 'storage_queue_depth:audit', state: 'raised' });

    depth.value = 0; // back under the threshold at once: not cleared yet (no flapping)
    monitor.evaluate(tracker);
    expect(monitor.list(null).active).toHaveLength(1);

    const deadline = Date.now() + 15_000;
    while (monitor.list(null).active.length > 0) {
      if (Date.now() > deadline) throw new Error('alert never cleared');
      await new Promise((resolve) => setTimeout(resolve, 200));
      monitor.evaluate(tracker);
    }
    expect(monitor.list(null).recent).toMatchObject([{ rule: 'storage_queue_depth:audit', state: 'cleared' }]);
    expect((await noticesOn(broker, `ops/${ALERTS_CHANNEL}`)).map((n) => n.payload.alert.state)).toEqual(['raised', 'cleared']);
  });
});
