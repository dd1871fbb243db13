import { CloseCodes } from '@apix/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/realtime/connection.js';
import { percentilesOf, merged } from '../../src/monitoring/latency-histogram.js';
import { LatencyTracker } from '../../src/monitoring/latency-tracker.js';
import { userPrincipal } from '../../src/identity/principal.js';

/** Unit tests of the LatencyTracker with a controlled clock: every latency is known exactly. */

let now = 1_000_000;
const trackers: LatencyTracker[] = [];
function newTracker(maxOrganizations = 10): LatencyTracker {
  const tracker = new LatencyTracker({ nodeId: 'node_t', maxOrganizations, windowMs: 60_000, timelineLength: 5, sendBufferWarnBytes: 1_000, now: () => now });
  trackers.push(tracker);
  return tracker;
}
afterEach(() => {
  for (const t of trackers.splice(0)) t.close();
});

/** A stand-in for a connection: only the fields the tracker reads. */
function fakeConnection(org: string, bufferedAmount = 0): Connection {
  return {
    principal: userPrincipal({ userId: 'u', organizationId: org, roles: [], expiresAt: Number.MAX_SAFE_INTEGER }),
    socket: { bufferedAmount },
    subscriptions: new Map(),
  } as unknown as Connection;
}

/** HDR with 2 significant digits reports a value within 1 % of the truth. */
function expectNear(actual: number, truth: number): void {
  expect(Math.abs(actual - truth)).toBeLessThanOrEqual(Math.ceil(truth * 0.01));
}

/** Records publications appended `latencyMs` before "now", `deliveries` subscribers each. */
function deliver(tracker: LatencyTracker, key: string, latencyMs: number, deliveries = 1, frameBytes = 100): void {
  tracker.fannedOut(key, { offset: 1, data: '{}', publishedAt: now - latencyMs }, deliveries, frameBytes);
}

describe('LatencyTracker', () => {
  it('gives the true percentiles of known latencies, per namespace and organisation', () => {
    const tracker = newTracker();
    for (let i = 0; i < 90; i++) deliver(tracker, 'acme/agent:bot', 10);
    for (let i = 0; i < 10; i++) deliver(tracker, 'acme/agent:bot', 500);
    for (let i = 0; i < 50; i++) deliver(tracker, 'acme/tool:calc', 40);
    for (let i = 0; i < 50; i++) deliver(tracker, 'globex/agent:x', 3);
    tracker.tick();

    const acmeAgent = tracker.namespaceSeries('acme').find((s) => s.namespace === 'agent')!;
    const p = percentilesOf(acmeAgent.total);
    expect(p.count).toBe(100);
    expect(p.p50).toBe(10);
    expect(p.p90).toBe(10);
    expectNear(p.p99, 500);
    expectNear(p.max, 500);
    expectNear(percentilesOf(acmeAgent.recent()).p99, 500);
    const acmeTool = tracker.namespaceSeries('acme').find((s) => s.namespace === 'tool')!;
    expect(percentilesOf(acmeTool.total)).toMatchObject({ count: 50, p50: 40, p99: 40 });
    expect(tracker.namespaceSeries('globex').map((s) => s.namespace)).toEqual(['agent']);

    // Organisation view = its namespaces merged; node view = everything.
    const acme = tracker.recentPercentiles(tracker.organization('acme')!);
    expect(acme).toMatchObject({ count: 150, p50: 10 });
    expectNear(acme.p99, 500);
    expect(tracker.recentPercentiles(tracker.node)).toMatchObject({ count: 200 });
    expect(percentilesOf(merged(tracker.namespaceSeries().map((s) => s.total))).count).toBe(200);
  });

  it('weights one record per publication by its delivery count', () => {
    const tracker = newTracker();
    deliver(tracker, 'acme/room:a', 7, 1_000, 50);
    deliver(tracker, 'acme/room:a', 900, 20, 50);
    tracker.tick();
    const stats = tracker.organization('acme')!;
    const p = tracker.recentPercentiles(stats);
    expect(p).toMatchObject({ count: 1_020, p50: 7 });
    expectNear(p.p99, 900);
    expect(stats.counters.deliveries).toBe(1_020);
    expect(stats.counters.bytesOut).toBe(50 * 1_020);
    expect(stats.timeline.at(-1)!.p50Ms).toBe(7);
    expectNear(stats.timeline.at(-1)!.p99Ms, 900);
    expect(stats.timeline.at(-1)!.deliveriesPerSecond).toBeGreaterThan(0);
  });

  it('counts organisations past the cap under "other", so series stay bounded', () => {
    const tracker = newTracker(2);
    for (const org of ['a', 'b', 'c', 'd', 'e']) deliver(tracker, `${org}/agent:x`, 5);
    tracker.tick();
    expect(tracker.organizationLabels().sort()).toEqual(['a', 'b', 'other']);
    expect(tracker.organization('d')!.label).toBe('other');
    expect(tracker.organization('d')!.counters.deliveries).toBe(3);
    expect(tracker.hasOwnLabel('c')).toBe(false);
  });

  it('keeps round trips, connections, slow-consumer closes, refusals and send-buffer pressure', () => {
    const tracker = newTracker();
    const slow = fakeConnection('acme', 5_000);
    const fine = fakeConnection('acme', 10);
    tracker.connectionOpened(slow);
    tracker.connectionOpened(fine);
    tracker.pong(fine, 25);
    tracker.pong(slow, 250);
    tracker.received(fine, 300);
    tracker.rateLimited(fine);
    tracker.watchSendBuffers(() => [5_000, 10]);
    tracker.published(fine.principal!, { channel: 'agent:x', offset: 1, epoch: 'e', duplicate: false });
    tracker.connectionClosed(slow, CloseCodes.SLOW_CONSUMER);
    tracker.tick();

    const acme = tracker.organization('acme')!;
    expect(acme.connections).toBe(1);
    expect(tracker.liveConnections('acme')).toEqual([fine]);
    expect(tracker.lastRttMs(fine)).toBe(25);
    const rtt = tracker.recentPercentiles(acme, 'rtt');
    expect(rtt).toMatchObject({ count: 2, p50: 25 });
    expectNear(rtt.max, 250);
    expect(acme.counters).toMatchObject({ publishes: 1, bytesIn: 300, rateLimitRefusals: 1, slowConsumerCloses: 1 });
    expect(acme.timeline.at(-1)!.errorsPerSecond).toBeGreaterThan(0);
    expect(tracker.sendBufferPressure).toEqual({ connectionsOver: 1, maxBufferedBytes: 5_000 });
  });

  it('keeps a bounded timeline of per-second samples', () => {
    const tracker = newTracker();
    for (let i = 0; i < 12; i++) tracker.tick();
    expect(tracker.node.timeline).toHaveLength(5);
  });

  it('clamps absurd latencies (clock skew between nodes) into the trackable range', () => {
    const tracker = newTracker();
    deliver(tracker, 'acme/agent:x', -50);
    deliver(tracker, 'acme/agent:x', 10 * 3_600_000);
    tracker.tick();
    expect(tracker.recentPercentiles(tracker.node)).toMatchObject({ count: 2 });
  });
});
