#!/usr/bin/env node
/**
 * `npm run bench:tracking`: what the LatencyTracker costs on the fan-out path. Same run,
 * tracking on vs off (MONITORING_TRACKING), alternating rounds; prints server CPU µs per
 * delivered message for each mode and the overhead. Target: at most 5 %.
 *
 * Flags (or BENCH_* variables, as for run-all): --subscribers (1000), --payload-bytes;
 * BENCH_TRACKING_ROUNDS (3), BENCH_TRACKING_RATE (publications/s, 50), BENCH_TRACKING_SECONDS (10).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenBook } from './bench-tokens.js';
import { parseSettings, UsageError } from './bench-settings.js';
import { runTrackingCostScenario } from './scenarios/tracking-cost-scenario.js';
import { LatencyTracker } from '../../packages/server/dist/monitoring/latency-tracker.js';
import { openDatabase } from '../../packages/server/dist/storage/database.js';

/**
 * The tracker's hot-path calls alone, in this process: ns per `fannedOut` (once per
 * publication per node) and per `received` (once per inbound frame). Precise where the
 * end-to-end comparison is noisy on a shared machine.
 */
function microCost(): { fannedOutNs: number; receivedNs: number } {
  const tracker = new LatencyTracker({ nodeId: 'bench', maxOrganizations: 50, windowMs: 10_000, timelineLength: 120, sendBufferWarnBytes: 1 << 20 });
  const keys = Array.from({ length: 64 }, (_, i) => `org${i % 8}/agent:channel-${i}`);
  const connection = { principal: { organizationId: 'org1' } } as never;
  const iterations = 2_000_000;
  // CPU time, not wall time: on a shared machine the wall clock also counts other processes' turns.
  const time = (fn: (i: number) => void) => {
    for (let i = 0; i < 100_000; i++) fn(i); // warm-up
    const before = process.cpuUsage();
    for (let i = 0; i < iterations; i++) fn(i);
    const used = process.cpuUsage(before);
    return ((used.user + used.system) * 1000) / iterations;
  };
  const baselineNs = time((i) => void keys[i & 63]!.length);
  const now = Date.now();
  const fannedOutNs = time((i) => tracker.fannedOut(keys[i & 63]!, { offset: i, data: '', publishedAt: now - (i & 31) }, 1_000, 200));
  const receivedNs = time(() => tracker.received(connection, 120));
  tracker.close();
  // Less the loop itself, so the figures are the calls' own cost.
  return { fannedOutNs: Math.max(0, fannedOutNs - baselineNs), receivedNs: Math.max(0, receivedNs - baselineNs) };
}

const intFromEnv = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
};

async function main(): Promise<void> {
  let settings;
  try {
    // No scenario list: this script runs one measurement of its own (the run-all flags it reads are above).
    settings = parseSettings(process.argv.slice(2), process.env, []);
  } catch (error) {
    if (error instanceof UsageError) {
      (error.exitCode === 0 ? process.stdout : process.stderr).write(`${error.message}\n`);
      process.exit(error.exitCode);
    }
    throw error;
  }
  const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
  const dataDir = await mkdtemp(join(tmpdir(), 'apix-bench-tracking-'));
  const loadAtStart = loadavg()[0]!;
  try {
    const tokenBook = await TokenBook.open(dataDir);
    // Create the embedded database once, here: a fresh PGlite folder takes seconds to initialise
    // (more on a loaded machine), which would eat the servers' readiness budget.
    await (await openDatabase({ dataDir })).close();
    const options = { rounds: intFromEnv('BENCH_TRACKING_ROUNDS', 3), rate: intFromEnv('BENCH_TRACKING_RATE', 50), seconds: intFromEnv('BENCH_TRACKING_SECONDS', 10) };
    log(`tracking cost: ${settings.subscribers} subscribers, ${options.rate} publications/s, ${options.seconds} s × ${options.rounds} rounds per mode`);
    const micro = microCost();
    const result = await runTrackingCostScenario(
      { settings, environment: { dataDir, databaseUrl: { unavailable: 'not used: tracking cost runs on the embedded database' } }, tokens: await tokenBook.tokens(50), tokenBook, log },
      options,
    );
    const lines = [
      'Tracking cost (fan-out, APIX tracking on vs off, same run)',
      'mode  round  delivered  complete  server CPU %  other CPU %  CPU µs/delivery',
      ...result.rounds.map(
        (r) =>
          `${r.mode.padEnd(5)} ${String(r.round).padStart(5)}  ${String(r.delivered).padStart(9)}  ${String(r.complete).padStart(8)}  ${r.serverCpuPercent.toFixed(1).padStart(12)}  ${r.otherCpuPercent.toFixed(1).padStart(11)}  ${r.cpuMicrosPerDelivery.toFixed(3).padStart(15)}`,
      ),
      `medians over complete rounds only (a round that lost deliveries under load says little about CPU per delivery)`,
      `median CPU µs/delivery: on ${result.medianMicrosPerDelivery.on.toFixed(3)}, off ${result.medianMicrosPerDelivery.off.toFixed(3)}`,
      result.overhead === null
        ? `tracking overhead: not measured — no complete round with tracking ${result.medianMicrosPerDelivery.on > 0 ? 'off' : 'on'} (the machine dropped deliveries: rerun when it is quieter)`
        : `tracking overhead: ${(result.overhead * 100).toFixed(1)} % of fan-out CPU per delivery (target ≤ 5 %)`,
      `tracker hot path alone (in-process): ${micro.fannedOutNs.toFixed(0)} ns per publication per node (fannedOut), ${micro.receivedNs.toFixed(0)} ns per inbound frame (received)`,
      `  = ${((micro.fannedOutNs / 1000 / settings.subscribers / (result.medianMicrosPerDelivery.off || NaN)) * 100).toFixed(4)} % of the untracked CPU per delivery at ${settings.subscribers} subscribers, ${((micro.fannedOutNs / 1000 / (result.medianMicrosPerDelivery.off || NaN)) * 100).toFixed(2)} % at 1 subscriber`,
      `load average at start ${loadAtStart.toFixed(2)}, end ${loadavg()[0]!.toFixed(2)}`,
    ];
    process.stdout.write(`\n${lines.join('\n')}\n`);
    await mkdir(settings.resultsDir, { recursive: true });
    const file = join(settings.resultsDir, `tracking-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, JSON.stringify({ ...result, micro, loadAverage: { start: loadAtStart, end: loadavg()[0] } }, null, 2));
    process.stdout.write(`Results written to ${file}\n`);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
