#!/usr/bin/env node
/**
 * `npm run bench`: every selected scenario against each of its targets (APIX on PGlite, on
 * PostgreSQL and on the Redis engine, raw ws, Socket.IO), one after another, each server in
 * its own process and the load in forked processes. Prints the tables and writes JSON to bench/results/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { openBenchDatabase, type BenchDatabase } from './bench-database.js';
import { TokenBook } from './bench-tokens.js';
import { parseSettings, UsageError } from './bench-settings.js';
import { deleteBenchRedisKeys } from './redis-cleanup.js';
import { renderReport } from './report.js';
import { writeResults } from './results-file.js';
import type { Outcome, RunResults } from './run-results.js';
import { ackedDeliveryScenario } from './scenarios/acked-delivery-scenario.js';
import { slowConsumerScenario } from './scenarios/slow-consumer-scenario.js';
import { bystanderScenario } from './scenarios/bystander-scenario.js';
import { clusterFanoutScenario } from './scenarios/cluster-fanout-scenario.js';
import { connectionsScenario } from './scenarios/connections-scenario.js';
import { fanoutScenario } from './scenarios/fanout-scenario.js';
import { idleRssScenario } from './scenarios/idle-rss-scenario.js';
import { manyChannelsScenario } from './scenarios/many-channels-scenario.js';
import { oneChannelPerUserScenario } from './scenarios/one-channel-per-user-scenario.js';
import { publishScenario } from './scenarios/publish-scenario.js';
import type { RunContext } from './scenarios/run-context.js';
import { targetsOf, type AnyScenario } from './scenarios/scenario.js';
import { TARGETS, type TargetEnvironment, type TargetId } from './targets.js';

/** Every scenario, in the order a full run takes them. One file each under scenarios/. */
const SCENARIOS: readonly AnyScenario[] = [
  connectionsScenario,
  fanoutScenario,
  clusterFanoutScenario,
  publishScenario,
  oneChannelPerUserScenario,
  manyChannelsScenario,
  bystanderScenario,
  idleRssScenario,
  ackedDeliveryScenario,
  slowConsumerScenario,
];

async function main(): Promise<void> {
  let settings;
  try {
    settings = parseSettings(process.argv.slice(2), process.env, SCENARIOS);
  } catch (error) {
    if (error instanceof UsageError) {
      (error.exitCode === 0 ? process.stdout : process.stderr).write(`${error.message}\n`);
      process.exit(error.exitCode);
    }
    throw error;
  }
  const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
  const startedAt = new Date();
  const loadAtStart = loadavg()[0]!;
  const t0 = performance.now();
  const selected = settings.scenarios.map((id) => SCENARIOS.find((s) => s.id === id)!);
  const plan = new Map(selected.map((s) => [s.id, targetsOf(s, settings.targets)] as const));
  const results: RunResults['results'] = {};
  const dataDir = await mkdtemp(join(tmpdir(), 'apix-bench-'));
  let database: BenchDatabase | undefined;
  try {
    const tokenBook = await TokenBook.open(dataDir);
    let databaseUrl: TargetEnvironment['databaseUrl'] = { unavailable: 'not needed by the selected scenarios' };
    const needsDatabase = selected.some((s) => plan.get(s.id)!.some((t) => t === 'apix-pg' || s.databaseTargets?.includes(t)));
    if (needsDatabase) {
      try {
        database = await openBenchDatabase(process.env);
        databaseUrl = database.url;
        log(`PostgreSQL database of the run (APIX (PG), the fanout-cluster nodes): ${database.url}`);
      } catch (error) {
        databaseUrl = { unavailable: error instanceof Error ? error.message : String(error) };
        log(`no PostgreSQL database (APIX (PG) and the fanout-cluster nodes will fail): ${databaseUrl.unavailable}`);
      }
    }
    const ctx: RunContext = { settings, environment: { dataDir, databaseUrl }, tokens: await tokenBook.tokens(50), tokenBook, log };
    // Scenario by scenario, all targets back to back, so the machine's state drifts as little as possible between them.
    for (const scenario of selected) {
      const outcomes: Partial<Record<TargetId, Outcome<unknown>>> = {};
      results[scenario.id] = outcomes;
      for (const id of plan.get(scenario.id)!) {
        const target = TARGETS[id];
        log(`${scenario.id}: ${target.label}`);
        const s = performance.now();
        try {
          outcomes[id] = { ok: true, result: await scenario.run(target, ctx) };
        } catch (error) {
          outcomes[id] = { ok: false, error: error instanceof Error ? error.message : String(error) };
          log(`  ${target.label} failed: ${(outcomes[id] as { error: string }).error}`);
        }
        log(`  done in ${((performance.now() - s) / 1000).toFixed(1)} s`);
      }
    }
  } finally {
    if ([...plan.values()].some((targets) => targets.includes('apix-redis'))) {
      await deleteBenchRedisKeys().catch((error: unknown) => log(`could not delete the run's Redis keys: ${error instanceof Error ? error.message : String(error)}`));
    }
    await database?.drop().catch((error: unknown) => log(`could not drop the bench database: ${error instanceof Error ? error.message : String(error)}`));
    await rm(dataDir, { recursive: true, force: true });
  }
  const cpuList = cpus();
  const run: RunResults = {
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - t0,
    machine: {
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
      memoryBytes: totalmem(),
      node: process.version,
      platform: platform(),
      release: release(),
    },
    loadAverage: { start: loadAtStart, end: loadavg()[0]! },
    settings,
    scenarios: settings.scenarios,
    targets: Object.fromEntries(plan),
    results,
  };
  process.stdout.write(`\n${renderReport(run, SCENARIOS)}\n\n`);
  const file = await writeResults(settings.resultsDir, run);
  process.stdout.write(`Results written to ${file}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
