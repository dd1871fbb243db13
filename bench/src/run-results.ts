import type { BenchSettings, ScenarioId } from './bench-settings.js';
import type { ConnectionsResult } from './scenarios/connections-scenario.js';
import type { FanoutResult } from './scenarios/fanout-scenario.js';
import type { PublishResult } from './scenarios/publish-scenario.js';
import type { TargetId } from './targets.js';

/** A scenario's outcome for one target: its figures, or why it has none. */
export type Outcome<T> = { ok: true; result: T } | { ok: false; error: string };

export interface ScenarioResults {
  connections: Partial<Record<TargetId, Outcome<ConnectionsResult>>>;
  fanout: Partial<Record<TargetId, Outcome<FanoutResult>>>;
  publish: Partial<Record<TargetId, Outcome<PublishResult>>>;
  /** Publish on one node, subscribers spread over three (Redis engine only). */
  'fanout-cluster'?: Partial<Record<TargetId, Outcome<FanoutResult>>>;
}

/** What lands in bench/results/*.json. */
export interface RunResults {
  startedAt: string;
  durationMs: number;
  machine: { cpus: number; cpuModel: string; memoryBytes: number; node: string; platform: string; release: string };
  /** 1-minute load average at the start and end: other work on the machine skews every figure. */
  loadAverage: { start: number; end: number };
  settings: BenchSettings;
  targets: TargetId[];
  scenarios: ScenarioId[];
  results: ScenarioResults;
}
