import type { NodeInfo } from '../engine/node-registry.js';

/** What the control plane may read about the running node (status, readiness). */
export interface ServerRuntime {
  readonly version: string;
  readonly nodeId: string;
  readonly engine: string;
  readonly startedAt: number;
  connectionCount(): number;
  channelCount(): number;
  /** Keys (`org/channel`) of the channels with subscribers on this node. */
  channelKeys?(): Iterable<string>;
  /** False while starting or shutting down: readiness answers 503. */
  isReady(): boolean;
  /** `pglite` or `postgres`. */
  readonly storage?: string;
  /** False while the engine cannot reach its store (Redis down): readiness answers 503 (degraded). */
  engineHealthy?(): boolean | Promise<boolean>;
  /** Queue groups with members on this node, and what their claim passes did (ADR 0042). */
  queueGroups?(): { groups: number; passes: number; claimed: number; released: number; gone: number };
  /** The cluster's live nodes (this one alone on the memory engine). */
  liveNodes?(): Promise<readonly NodeInfo[]>;
}
