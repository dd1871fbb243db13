import type { MonitoringSample } from '@apix/protocol';
import { describe, expect, it } from 'vitest';
import { newHistogram, recordInto } from '../../src/monitoring/latency-histogram.js';
import { mergeSnapshots } from '../../src/monitoring/merge-snapshots.js';
import { decodeSnapshot, encodeSnapshot, type ScopeSnapshot } from '../../src/monitoring/scope-snapshot.js';

/** The cluster dashboard's merge, over snapshots that went through the wire format another node reads. */

const T0 = 1_800_000_000_000;

function sample(at: number, fields: Partial<MonitoringSample> = {}): MonitoringSample {
  return { at, connections: 0, publishesPerSecond: 0, deliveriesPerSecond: 0, bytesInPerSecond: 0, bytesOutPerSecond: 0, errorsPerSecond: 0, p50Ms: 0, p99Ms: 0, eventLoopLagMs: 0, ...fields };
}

function snapshot(nodeId: string, latencyMs: number, deliveries: number, overrides: Partial<ScopeSnapshot> = {}): ScopeSnapshot {
  const latency = newHistogram();
  recordInto(latency, latencyMs, deliveries);
  return {
    nodeId,
    engine: 'redis',
    version: '0.1.0',
    startedAt: T0 - 60_000,
    connections: 0,
    channels: 0,
    channelNames: [],
    eventLoopLagMs: 0,
    totals: { publishes: 0, deliveries, bytesIn: 0, bytesOut: 0, slowConsumerCloses: 0, rateLimitRefusals: 0 },
    timeline: [],
    latency,
    alerts: [],
    ...overrides,
  };
}

/** As the other node stored it and this one read it back. */
const viaWire = (s: ScopeSnapshot) => decodeSnapshot(JSON.parse(JSON.stringify(encodeSnapshot(s, 60))))!;

describe('mergeSnapshots', () => {
  it('takes latency percentiles from the summed histograms, not an average of the nodes\' percentiles', () => {
    const fast = snapshot('node_a', 10, 100);
    const slow = viaWire(snapshot('node_b', 1_000, 100));
    const merged = mergeSnapshots(fast, [slow]);
    expect(merged.delivery.count).toBe(200);
    expect(merged.delivery.p50).toBe(10); // averaging the two p50s would say 505
    expect(merged.delivery.p99).toBeGreaterThanOrEqual(990);
    expect(merged.delivery.p99).toBeLessThanOrEqual(1_010);
    expect(merged.nodes.map((n) => [n.nodeId, n.p99Ms])).toEqual([
      ['node_a', 10],
      ['node_b', expect.closeTo(1_000, -1)],
    ]);
  });

  it('adds up connections, totals and current rates; lag is the worst node\'s; channels are a union of names', () => {
    const a = snapshot('node_a', 5, 3, {
      connections: 2,
      channels: 2,
      channelNames: ['agent:x', 'tool:y'],
      eventLoopLagMs: 4,
      timeline: [sample(T0, { connections: 2, publishesPerSecond: 3, deliveriesPerSecond: 6, eventLoopLagMs: 4 })],
    });
    const b = viaWire(
      snapshot('node_b', 5, 7, {
        connections: 5,
        channels: 1,
        channelNames: ['agent:x'],
        eventLoopLagMs: 40,
        timeline: [sample(T0 - 300, { connections: 5, publishesPerSecond: 1, deliveriesPerSecond: 10, eventLoopLagMs: 40 })],
      }),
    );
    const merged = mergeSnapshots(a, [b]);
    expect(merged).toMatchObject({ connections: 7, channels: 2, totals: { deliveries: 10 } });
    expect(merged.current).toMatchObject({ connections: 7, publishesPerSecond: 4, deliveriesPerSecond: 16, eventLoopLagMs: 40 });
    // A node that stopped naming its channels (too many): counts add up instead.
    expect(mergeSnapshots(a, [{ ...b, channelNames: null }]).channels).toBe(3);
  });

  it('puts the nodes\' per-second samples on one time axis and leaves out seconds a node has not reported yet', () => {
    const local = snapshot('node_a', 1, 1, {
      timeline: [0, 1, 2, 3].map((i) => sample(T0 + i * 1_000, { connections: 1, deliveriesPerSecond: 10 + i, p99Ms: 5 })),
    });
    // Out of phase by 0.4 s, and its snapshot is one tick older: no sample for local second 3 yet.
    const remote = viaWire(
      snapshot('node_b', 1, 1, {
        timeline: [0, 1, 2].map((i) => sample(T0 + i * 1_000 + 400, { connections: 2, deliveriesPerSecond: 100, p99Ms: 50 + i })),
      }),
    );
    const timeline = mergeSnapshots(local, [remote]).timeline;
    expect(timeline.map((t) => t.at)).toEqual([T0, T0 + 1_000, T0 + 2_000]);
    expect(timeline.map((t) => t.deliveriesPerSecond)).toEqual([110, 111, 112]);
    expect(timeline.map((t) => t.connections)).toEqual([3, 3, 3]);
    expect(timeline.map((t) => t.p99Ms)).toEqual([50, 51, 52]); // the slowest node's: an upper bound of the merged p99
  });

  it('is the node\'s own document when it is alone', () => {
    const timeline = [0, 1].map((i) => sample(T0 + i * 1_000, { connections: 1, publishesPerSecond: i }));
    const merged = mergeSnapshots(snapshot('node_a', 3, 4, { connections: 1, timeline }), []);
    expect(merged.timeline).toEqual(timeline);
    expect(merged.current).toEqual({ ...timeline[1], connections: 1 });
    expect(merged.delivery).toMatchObject({ count: 4, p50: 3 });
  });

  it('leaves out a stored entry it cannot read', () => {
    expect(decodeSnapshot({ v: 2, nodeId: 'x' })).toBeUndefined();
    expect(decodeSnapshot({ ...encodeSnapshot(snapshot('node_b', 1, 1), 60), latency: 'not-a-histogram' })).toBeUndefined();
  });
});
