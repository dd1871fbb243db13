import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeCluster, type NodeCluster } from './node-processes.js';
import { RedisProcess } from './redis-processes.js';
import { runTrafficScenario, waitForDelivery } from './traffic-scenario.js';

/** SIGTERM each of three real node processes in turn under traffic (a deploy), each started again on its port. */
const CLIENTS = Number(process.env.APIX_FAILOVER_CLIENTS ?? 45);
const RATE = Number(process.env.APIX_FAILOVER_RATE ?? 100);

let redis: RedisProcess;
let cluster: NodeCluster;
let result: Awaited<ReturnType<typeof runTrafficScenario>> | undefined;
beforeAll(async () => {
  redis = await RedisProcess.start();
  cluster = await startNodeCluster(3, { REDIS_URL: redis.url });
}, 120_000);
afterAll(async () => {
  for (const c of result?.clients ?? []) c.client.disconnect();
  await cluster?.stop();
  await redis?.stop();
}, 60_000);

describe('a rolling restart under traffic', () => {
  it('moves every client to another node and back without losing or duplicating an event', async () => {
    const exits: Array<number | null> = [];
    result = await runTrafficScenario(cluster, {
      clients: CLIENTS,
      eventsPerSecond: RATE,
      durationMs: 12_000,
      disruptAfterMs: 1_000,
      disrupt: async () => {
        for (let i = 0; i < cluster.nodes.length; i++) {
          const old = cluster.nodes[i]!;
          await cluster.restart(i);
          exits.push(await old.exited);
        }
      },
      publishTo: (seq) => seq % 3,
    });
    await waitForDelivery(result, 30_000);
    expect(exits).toEqual([0, 0, 0]); // each node drained and exited cleanly
    const offsets = [...result.published.values()].map((p) => p.offset).sort((a, b) => a - b);
    expect(offsets).toEqual(Array.from({ length: result.published.size }, (_, i) => i + 1));
    for (const c of result.clients) {
      expect(c.received.map((p) => p.offset)).toEqual(offsets);
      expect(c.connectedAt.length).toBeGreaterThan(1); // every client was moved at least once
    }
  }, 150_000);
});
