import * as hdr from 'hdr-histogram-js';
import type { Alert, MonitoringCounters, MonitoringSample } from '@apix/protocol';
import type { Histogram } from './latency-histogram.js';

/**
 * What one node knows about one monitoring scope (the platform, or one organisation label):
 * the figures the dashboard's first screen shows, in a form that can be merged with other
 * nodes' exactly — counts and rates add up, latency travels as the HDR histogram itself, never
 * as percentiles (percentiles of different nodes cannot be averaged). ADR 0022.
 */
export interface ScopeSnapshot {
  readonly nodeId: string;
  readonly engine: string;
  readonly version: string;
  /** Wall time, for display (uptime). */
  readonly startedAt: number;
  /** Live connections in scope on this node. */
  readonly connections: number;
  /** Channels with subscribers in scope on this node. */
  readonly channels: number;
  /** Their names, for a union across nodes; null past MAX_CHANNEL_NAMES (the merge then adds counts). */
  readonly channelNames: readonly string[] | null;
  readonly eventLoopLagMs: number;
  readonly totals: MonitoringCounters;
  /** Per-second samples, oldest first. */
  readonly timeline: readonly MonitoringSample[];
  /** Publish→deliver latency over the recent window (current + previous). */
  readonly latency: Histogram | undefined;
  readonly alerts: readonly Alert[];
}

/** A node names at most this many channels per scope in its snapshot. */
export const MAX_CHANNEL_NAMES = 1_000;

/** The JSON a node stores for the others: the snapshot's plain fields, with `samples` as tuples to keep it small (one per second). */
export type ScopeSnapshotWire = Omit<ScopeSnapshot, 'timeline' | 'latency'> & {
  readonly v: 1;
  /** [at, connections, publishes/s, deliveries/s, bytes in/s, bytes out/s, errors/s, p50, p99, lag]. */
  readonly samples: ReadonlyArray<readonly number[]>;
  /** `encodeIntoCompressedBase64` of the recent latency histogram; null when it is empty. */
  readonly latency: string | null;
};

export function encodeSnapshot(s: ScopeSnapshot, maxSamples: number): ScopeSnapshotWire {
  return {
    v: 1,
    nodeId: s.nodeId,
    engine: s.engine,
    version: s.version,
    startedAt: s.startedAt,
    connections: s.connections,
    channels: s.channels,
    channelNames: s.channelNames,
    eventLoopLagMs: s.eventLoopLagMs,
    totals: s.totals,
    samples: s.timeline
      .slice(-maxSamples)
      .map((t) => [t.at, t.connections, t.publishesPerSecond, t.deliveriesPerSecond, t.bytesInPerSecond, t.bytesOutPerSecond, t.errorsPerSecond, t.p50Ms, t.p99Ms, t.eventLoopLagMs]),
    latency: s.latency && s.latency.totalCount > 0 ? hdr.encodeIntoCompressedBase64(s.latency) : null,
    alerts: s.alerts,
  };
}

/** Another node's snapshot as stored; undefined when it is not one this version reads. */
export function decodeSnapshot(wire: unknown): ScopeSnapshot | undefined {
  const w = wire as Partial<ScopeSnapshotWire> | undefined;
  if (!w || w.v !== 1 || typeof w.nodeId !== 'string' || !Array.isArray(w.samples) || !w.totals) return undefined;
  try {
    return {
      nodeId: w.nodeId,
      engine: String(w.engine),
      version: String(w.version),
      startedAt: Number(w.startedAt),
      connections: Number(w.connections),
      channels: Number(w.channels),
      channelNames: Array.isArray(w.channelNames) ? w.channelNames : null,
      eventLoopLagMs: Number(w.eventLoopLagMs),
      totals: w.totals,
      timeline: w.samples.map(([at, connections, pub, deliv, bin, bout, err, p50, p99, lag]) => ({
        at: at!,
        connections: connections!,
        publishesPerSecond: pub!,
        deliveriesPerSecond: deliv!,
        bytesInPerSecond: bin!,
        bytesOutPerSecond: bout!,
        errorsPerSecond: err!,
        p50Ms: p50!,
        p99Ms: p99!,
        eventLoopLagMs: lag!,
      })),
      latency: typeof w.latency === 'string' ? hdr.decodeFromCompressedBase64(w.latency) : undefined,
      alerts: Array.isArray(w.alerts) ? w.alerts : [],
    };
  } catch {
    return undefined; // a histogram that does not decode: that node is left out of this answer
  }
}
