import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Histogram } from '../histogram.js';
import type { FanoutPhaseSpec } from '../ipc-protocol.js';
import { LoadGeneratorProcess } from '../load-generator-process.js';
import { CpuSharesMeter } from '../process-stats.js';
import { startServer, type ServerProcess } from '../server-process.js';
import type { Target, TargetId } from '../targets.js';
import { toMs } from './connections-scenario.js';
import { FANOUT_CHANNEL, type FanoutPhaseReport, type FanoutResult } from './fanout-scenario.js';
import { connectClients, type RunContext } from './run-context.js';

const run = promisify(execFile);

/** Targets with an engine several processes can share. */
export const CLUSTER_TARGETS: readonly TargetId[] = ['apix-redis'];
const NODES = 3;
/** The nodes share storage as a real cluster does: a database of their own on the machine's PostgreSQL. */
const ADMIN_DATABASE_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Scenario 4: cross-node fan-out. Three APIX processes on one Redis; the publisher is on the
 * first node, the subscribers are spread evenly over all three, so two thirds of deliveries
 * cross Redis Pub/Sub to another process. Same phases as scenario 2, so its figures compare
 * with the single-node memory engine and raw ws of the same run.
 */
export async function runClusterFanoutScenario(target: Target, ctx: RunContext): Promise<FanoutResult> {
  const { settings } = ctx;
  const database = `apix_bench_${randomBytes(4).toString('hex')}`;
  await run('psql', [ADMIN_DATABASE_URL, '-c', `CREATE DATABASE ${database}`]);
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${database}`;
  const clustered: Target = { ...target, env: (port, dataDir) => ({ ...target.env(port, dataDir), DATABASE_URL: url.toString() }) };
  const servers: ServerProcess[] = [];
  const load = LoadGeneratorProcess.start();
  try {
    servers.push(await startServer(clustered, ctx.dataDir)); // the first one runs the migrations
    for (let i = 1; i < NODES; i++) servers.push(await startServer(clustered, ctx.dataDir));
    const perNode = Math.floor(settings.subscribers / NODES);
    for (let i = 0; i < NODES; i++) {
      const count = i === NODES - 1 ? settings.subscribers - perNode * (NODES - 1) : perNode;
      // Client 0 (the publisher) on node 0.
      await connectClients(load, target, servers[i]!.url, ctx, count + (i === 0 ? 1 : 0), 100);
    }
    const subscribed = await load.subscribe(FANOUT_CHANNEL, 1, 100);
    if (subscribed.failed > 0) throw new Error(`${subscribed.failed} subscriptions failed: ${JSON.stringify(subscribed.errors)}`);

    const base = { channel: FANOUT_CHANNEL, payloadBytes: settings.payloadBytes, stallTimeoutMs: 5_000 };
    await load.fanoutPhase({ ...base, phase: 'warmup', mode: 'rate', rate: 50, window: 0, durationMs: 1_000 });
    const specs: FanoutPhaseSpec[] = settings.fanoutRates.map((rate) => ({ ...base, phase: `rate-${rate}`, mode: 'rate', rate, window: 0, durationMs: settings.phaseSeconds * 1000 }));
    if (settings.maxSeconds > 0) {
      specs.push({ ...base, phase: 'max', mode: 'closed', rate: 0, window: settings.maxWindow, durationMs: settings.maxSeconds * 1000 });
    }
    const phases: FanoutPhaseReport[] = [];
    for (const spec of specs) {
      ctx.log(`  ${target.label} ×${NODES} cross-node fan-out ${spec.phase}…`);
      // CPU of the publishing node (the others do the same delivery work for their third).
      const cpu = new CpuSharesMeter(servers[0]!.pid, load.pid).start();
      const r = await load.fanoutPhase(spec);
      const cpuShares = cpu.stop();
      const elapsedMs = Math.max(r.lastDeliveryAt, r.publishEndedAt) - r.publishStartedAt;
      phases.push({
        phase: spec.phase,
        mode: spec.mode,
        targetRate: spec.mode === 'rate' ? spec.rate : null,
        window: spec.mode === 'closed' ? spec.window : null,
        subscribers: r.subscribers,
        published: r.published,
        publishErrors: r.publishErrors,
        expected: r.expected,
        delivered: r.delivered,
        complete: r.complete,
        elapsedMs,
        deliveredPerSecond: (r.delivered / elapsedMs) * 1000,
        publicationsPerSecond: (r.delivered / r.subscribers / elapsedMs) * 1000,
        latencyMs: toMs(Histogram.from(r.latency).summary()),
        ...cpuShares,
      });
    }
    return { subscribers: subscribed.subscribed, subscribeMs: subscribed.elapsedMs, subscribeFailed: subscribed.failed, phases };
  } finally {
    await load.stop();
    await Promise.all(servers.map((s) => s.stop()));
    await run('psql', [ADMIN_DATABASE_URL, '-c', `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`]).catch(() => undefined);
  }
}
