#!/usr/bin/env node
/**
 * `npm run bench`: every scenario against every target (APIX, raw ws, Socket.IO), one
 * after another, each server in its own process and the load in forked processes. Prints
 * the tables and writes JSON to bench/results/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { mintTokens } from './bench-tokens.js';
import { parseSettings, UsageError, type ScenarioId } from './bench-settings.js';
import { deleteBenchRedisKeys } from './redis-cleanup.js';
import { renderReport } from './report.js';
import { writeResults } from './results-file.js';
import type { Outcome, RunResults, ScenarioResults } from './run-results.js';
import { runConnectionsScenario } from './scenarios/connections-scenario.js';
import { CLUSTER_TARGETS, runClusterFanoutScenario } from './scenarios/cluster-fanout-scenario.js';
import { runFanoutScenario } from './scenarios/fanout-scenario.js';
import { runPublishScenario } from './scenarios/publish-scenario.js';
import type { RunContext } from './scenarios/run-context.js';
import { TARGETS, type Target } from './targets.js';

const RUNNERS: Record<ScenarioId, (target: Target, ctx: RunContext) => Promise<unknown>> = {
  connections: runConnectionsScenario,
  fanout: runFanoutScenario,
  publish: runPublishScenario,
  'fanout-cluster': runClusterFanoutScenario,
};

async function main(): Promise<void> {
  let settings;
  try {
    settings = parseSettings(process.argv.slice(2), process.env);
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
  const dataDir = await mkdtemp(join(tmpdir(), 'apix-bench-'));
  const results: ScenarioResults = { connections: {}, fanout: {}, publish: {}, 'fanout-cluster': {} };
  try {
    const tokens = await mintTokens(dataDir, 50);
    const ctx: RunContext = { settings, dataDir, tokens, log };
    // Scenario by scenario, all targets back to back, so the machine's state drifts as little as possible between them.
    for (const scenario of settings.scenarios) {
      for (const id of settings.targets) {
        // A cluster needs a shared engine: only targets that have one run the cluster scenario.
        if (scenario === 'fanout-cluster' && !CLUSTER_TARGETS.includes(id)) continue;
        const target = TARGETS[id];
        log(`${scenario}: ${target.label}`);
        const s = performance.now();
        let outcome: Outcome<unknown>;
        try {
          outcome = { ok: true, result: await RUNNERS[scenario](target, ctx) };
        } catch (error) {
          outcome = { ok: false, error: error instanceof Error ? error.message : String(error) };
          log(`  ${target.label} failed: ${outcome.error}`);
        }
        (results[scenario] as Record<string, Outcome<unknown>>)[id] = outcome;
        log(`  done in ${((performance.now() - s) / 1000).toFixed(1)} s`);
      }
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    if (settings.targets.includes('apix-redis')) await deleteBenchRedisKeys().catch((error: unknown) => log(`Redis keys not deleted: ${String(error)}`));
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
    targets: settings.targets,
    scenarios: settings.scenarios,
    results,
  };
  process.stdout.write(`\n${renderReport(run)}\n\n`);
  const file = await writeResults(settings.resultsDir, run);
  process.stdout.write(`Results written to ${file}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
