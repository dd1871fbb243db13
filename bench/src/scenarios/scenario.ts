import type { BenchSettings } from '../bench-settings.js';
import type { TargetOutcomes } from '../run-results.js';
import type { Target, TargetId } from '../targets.js';
import type { RunContext } from './run-context.js';

/**
 * One benchmark scenario, in one file under scenarios/: how it runs against one target and
 * how its figures print. run-all runs every selected scenario against each of its targets
 * back to back, each with a fresh server. To add one: write the file, add it to SCENARIOS
 * in run-all.ts (and its settings, if any, to bench-settings.ts).
 */
export interface Scenario<R = unknown> {
  /** What `--only` takes (kebab-case). */
  readonly id: string;
  /** One line for `--help`. */
  readonly summary: string;
  /** The targets it runs against unless `--targets` says otherwise, in that order. */
  readonly defaultTargets: readonly TargetId[];
  /** The targets it can run against at all (`--targets` is cut down to these); default: every target. */
  readonly supportedTargets?: readonly TargetId[];
  /** Targets that use the run's PostgreSQL database in this scenario besides `apix-pg` (run-all creates it when one runs). */
  readonly databaseTargets?: readonly TargetId[];
  run(target: Target, ctx: RunContext): Promise<R>;
  render(view: ScenarioView<R>): string;
}

/** What a scenario's `render` gets. */
export interface ScenarioView<R> {
  /** The scenario's place in this run's report (1, 2, …). */
  readonly number: number;
  readonly settings: BenchSettings;
  /** The targets it ran against, in order. */
  readonly targets: readonly TargetId[];
  readonly outcomes: TargetOutcomes<R>;
}

/** A scenario of any result type, as the list in run-all holds it (methods are bivariant, so every Scenario<R> fits). */
export type AnyScenario = Scenario<unknown>;

/** The targets a scenario runs against in this run. */
export function targetsOf(scenario: AnyScenario, requested: readonly TargetId[] | undefined): TargetId[] {
  if (!requested) return [...scenario.defaultTargets];
  return requested.filter((t) => !scenario.supportedTargets || scenario.supportedTargets.includes(t));
}

/** APIX variants and baselines, the columns every scenario's table has. */
export const ALL_TARGETS: readonly TargetId[] = ['apix', 'apix-pg', 'ws', 'socketio'];
/** APIX on the memory engine and on the Redis engine, and the baselines: where the engine is what is measured. */
export const ENGINE_TARGETS: readonly TargetId[] = ['apix', 'apix-redis', 'ws', 'socketio'];
/** The three the first benchmarks ran against (APIX on its embedded default). */
export const CLASSIC_TARGETS: readonly TargetId[] = ['apix', 'ws', 'socketio'];
