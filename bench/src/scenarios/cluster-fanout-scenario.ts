import { LoadGeneratorProcess } from '../load-generator-process.js';
import { BENCH_REDIS_PREFIX } from '../redis-cleanup.js';
import { sectionsByPart } from '../report.js';
import { startServer, type ServerProcess } from '../server-process.js';
import { requireDatabaseUrl, type Target, type TargetId } from '../targets.js';
import { formatNumber } from '../text-table.js';
import { FANOUT_CHANNEL, fanoutPhaseMetrics, measureFanoutPhases, runFanoutScenario, type FanoutResult } from './fanout-scenario.js';
import { connectClients, stopServer, type RunContext } from './run-context.js';
import type { Scenario } from './scenario.js';

/** The target that runs as a cluster (an engine several processes can share); the others run one node, as in `fanout`. */
const CLUSTER_TARGET: TargetId = 'apix-redis';
const NODES = 3;

/**
 * Cross-node fan-out: three APIX processes on one Redis, sharing the run's PostgreSQL
 * database as a real cluster shares its storage. The publisher is on the first node and
 * the subscribers are spread evenly over all three, so two thirds of the deliveries cross
 * Redis Pub/Sub to another process. The same phases as `fanout`; the memory engine (`apix`)
 * and raw ws run them on one node in the same scenario, for the ratios.
 */
export async function runClusterFanout(target: Target, ctx: RunContext): Promise<FanoutResult> {
  const { settings } = ctx;
  const databaseUrl = requireDatabaseUrl(ctx.environment);
  // A prefix of its own under the run's (deleted with it): single-node apix-redis runs of this run used the run's prefix on embedded storage.
  const clustered: Target = {
    ...target,
    label: `${target.label} ×${NODES}`,
    env: (port, environment) => ({ ...target.env(port, environment), DATABASE_URL: databaseUrl, REDIS_KEY_PREFIX: `${BENCH_REDIS_PREFIX}:cluster` }),
  };
  const servers: ServerProcess[] = [];
  const load = LoadGeneratorProcess.start();
  try {
    // One after another: the first node runs the migrations.
    for (let i = 0; i < NODES; i++) servers.push(await startServer(clustered, ctx.environment));
    const perNode = Math.floor(settings.subscribers / NODES);
    for (let i = 0; i < NODES; i++) {
      const count = i === NODES - 1 ? settings.subscribers - perNode * (NODES - 1) : perNode;
      // Connection 0, the publisher, is on node 0.
      await connectClients(load, clustered, servers[i]!.url, ctx, count + (i === 0 ? 1 : 0), 100);
    }
    const subscribed = await load.subscribe({ kind: 'shared', channel: FANOUT_CHANNEL }, 1, 100);
    if (subscribed.failed > 0) throw new Error(`${subscribed.failed} subscriptions failed: ${JSON.stringify(subscribed.errors)}`);
    const phases = await measureFanoutPhases(
      load,
      servers.map((s) => s.pid),
      clustered,
      ctx,
      'cross-node fan-out',
    );
    return { subscribers: subscribed.subscribed, subscribeMs: subscribed.elapsedMs, subscribeFailed: subscribed.failed, phases };
  } finally {
    await load.stop();
    await Promise.all(servers.map((s) => stopServer(s, clustered, ctx)));
  }
}

export const clusterFanoutScenario: Scenario<FanoutResult> = {
  id: 'fanout-cluster',
  summary: `cross-node fan-out: ${NODES} APIX nodes on Redis (publisher on node 1, --subscribers spread over all), beside one node of APIX (memory) and raw ws`,
  defaultTargets: [CLUSTER_TARGET, 'apix', 'ws'],
  supportedTargets: [CLUSTER_TARGET, 'apix', 'ws', 'socketio'],
  databaseTargets: [CLUSTER_TARGET],
  run: (target, ctx) => (target.id === CLUSTER_TARGET ? runClusterFanout(target, ctx) : runFanoutScenario(target, ctx)),
  render: ({ number, settings, targets, outcomes }) => {
    const title = `${number}. Cross-node fan-out: APIX (Redis) = ${NODES} nodes on one Redis, publisher on node 1, ${formatNumber(settings.subscribers)} subscribers spread over the ${NODES}; the other columns one node; server CPU = all nodes`;
    return sectionsByPart(
      targets,
      outcomes,
      (r) => r.phases,
      (p) => p.phase,
      (p) =>
        `${title} — ${
          p.mode === 'rate'
            ? `${formatNumber(p.targetRate ?? 0)} publications/s for ${settings.phaseSeconds} s (open loop)`
            : `max throughput, ${p.window} publications in flight end to end, ${settings.maxSeconds} s (closed loop)`
        }`,
      fanoutPhaseMetrics,
      title,
    ).join('\n');
  },
};
