import { dashboardResponseSchema, latencyStatsResponseSchema, type DashboardResponse } from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startNodeCluster, type NodeCluster, type NodeProcess } from './node-processes.js';
import { deleteKeysWithPrefix } from './redis-processes.js';

/**
 * Two node processes on one Redis: `/api/v1/monitoring/dashboard` on either node shows the
 * cluster (connections, deliveries, latency from both nodes' histograms, one row per node),
 * and a node that leaves drops out of it. ADR 0022.
 */
const REDIS_URL = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_KEY_PREFIX = `apixtest-mon-${process.pid}-${Date.now()}`;
const PUBLICATIONS = 5;

let cluster: NodeCluster;
let admin: string;
const clients: RawClient[] = [];

beforeAll(async () => {
  // A window longer than the test: the nodes' recent histograms stay comparable with the merged one.
  cluster = await startNodeCluster(2, { REDIS_URL, REDIS_KEY_PREFIX, MONITORING_WINDOW_MS: '120000' });
  admin = await cluster.token({ org: 'acme', user: 'alice', roles: ['admin'] });
}, 120_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.stop();
  await deleteKeysWithPrefix(REDIS_URL, REDIS_KEY_PREFIX);
});

async function get(node: NodeProcess, path: string, token = admin): Promise<unknown> {
  const response = await fetch(`${node.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status, path).toBe(200);
  return response.json();
}

async function dashboardUntil(node: NodeProcess, what: string, done: (d: DashboardResponse) => boolean, timeoutMs = 20_000, token = admin): Promise<DashboardResponse> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const d = dashboardResponseSchema.parse(await get(node, '/api/v1/monitoring/dashboard', token));
    if (done(d)) return d;
    if (performance.now() > deadline) throw new Error(`${what}: last answer ${JSON.stringify({ ...d, timeline: d.timeline.length })}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('the dashboard of a two-node cluster', () => {
  it('merges both nodes: connections, deliveries, channels, latency from both histograms, a row per node', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    for (const node of [a, b]) {
      const client = await RawClient.connect(node.wsUrl, admin);
      clients.push(client);
      expect(await client.request({ type: 'subscribe', channels: ['agent:x'] })).toMatchObject({ ok: true });
    }
    for (let i = 0; i < PUBLICATIONS; i++) {
      const response = await fetch(`${a.url}/api/v1/channels/agent:x/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'custom.tick', payload: { i } }),
      });
      expect(response.status).toBe(201);
    }
    await Promise.all(clients.map((c) => c.waitForEvents('agent:x', PUBLICATIONS)));

    for (const node of [a, b]) {
      const d = await dashboardUntil(node, `node ${node.port} shows both nodes`, (x) => x.nodes.length === 2 && x.totals.deliveries === 2 * PUBLICATIONS && x.delivery.count === 2 * PUBLICATIONS);
      expect(d).toMatchObject({ scope: 'organization', organizationId: 'acme', partial: false, connections: 2, channels: 1 });
      expect(d.totals.publishes).toBe(PUBLICATIONS); // counted where they were published: node A
      expect(d.nodes.map((n) => n.connections)).toEqual([1, 1]);
      expect(d.timeline.length).toBeGreaterThan(0);
    }
    // Each node alone (latency/stats is per node) saw half the deliveries; the merge is their sum.
    const counts = await Promise.all([a, b].map(async (n) => latencyStatsResponseSchema.parse(await get(n, '/api/v1/monitoring/latency/stats')).delivery.recent.count));
    expect(counts).toEqual([PUBLICATIONS, PUBLICATIONS]);

    // An organisation node A has never seen: its figures still come from node B.
    const globex = await cluster.token({ org: 'globex', user: 'hank', roles: ['admin'] });
    clients.push(await RawClient.connect(b.wsUrl, globex));
    const seen = await dashboardUntil(a, 'globex from node B', (x) => x.connections === 1, 20_000, globex);
    expect(seen.nodes.map((n) => n.connections).sort()).toEqual([0, 1]);

    const platform = await cluster.token({ org: 'platform', user: 'root', roles: ['platform-admin'] });
    const whole = dashboardResponseSchema.parse(await get(b, '/api/v1/monitoring/dashboard', platform));
    expect(whole).toMatchObject({ scope: 'platform', connections: 3 }); // acme's two and globex's one
    expect(whole.nodes).toHaveLength(2);
  }, 60_000);

  it('drops a node that leaves', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    await b.stop();
    const d = await dashboardUntil(a, 'node B gone', (x) => x.nodes.length === 1);
    expect(d.connections).toBe(1); // acme's connection on node A
  }, 30_000);
});
