import type { BenchSettings } from './bench-settings.js';
import type { TargetId } from './targets.js';

/** A scenario's outcome for one target: its figures, or why it has none. */
export type Outcome<T> = { ok: true; result: T } | { ok: false; error: string };

export type TargetOutcomes<T> = Partial<Record<TargetId, Outcome<T>>>;

/** What lands in bench/results/*.json. */
export interface RunResults {
  startedAt: string;
  durationMs: number;
  machine: { cpus: number; cpuModel: string; memoryBytes: number; node: string; platform: string; release: string };
  /** 1-minute load average at the start and end: other work on the machine skews every figure. */
  loadAverage: { start: number; end: number };
  settings: BenchSettings;
  scenarios: string[];
  /** scenario id → the targets it ran against, in order. */
  targets: Record<string, TargetId[]>;
  /** scenario id → target → outcome (each scenario file defines its result type). */
  results: Record<string, TargetOutcomes<unknown>>;
}
