import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { deleteKeysWithPrefix } from './redis-processes.js';
import { startInProcessCluster, type InProcessCluster } from './cluster-nodes.js';

/** Two nodes on the machine's Redis (own key prefix) and PostgreSQL behave as one server. */
const REDIS_URL = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_KEY_PREFIX = `apixtest-x-${process.pid}-${Date.now()}`;
let cluster: InProcessCluster;
beforeAll(async () => {
  cluster = await startInProcessCluster(2, { REDIS_URL, REDIS_KEY_PREFIX });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
  await deleteKeysWithPrefix(REDIS_URL, REDIS_KEY_PREFIX);
});

const agentEvent = (status: string) => ({ type: 'agent_status_update', payload: { agentId: 'a1', status } });

describe('a cluster of two nodes', () => {
  it('runs the Redis engine on every node', () => {
    expect(cluster.nodes.map((n) => n.broker.name)).toEqual(['redis', 'redis']);
  });

  it('delivers on node A what is published on node B, over WebSocket and HTTP, in order', async () => {
    const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const subscriber = await RawClient.connect(a.wsUrl, await cluster.token({ user: 'bob' }));
    const publisher = await RawClient.connect(b.wsUrl, await cluster.token());
    expect((await subscriber.request({ type: 'subscribe', channels: ['agent:a1'] })).ok).toBe(true);
    for (const status of ['thinking', 'running']) {
      expect(await publisher.request({ type: 'publish', channel: 'agent:a1', event: agentEvent(status) })).toMatchObject({ ok: true });
    }
    const response = await fetch(`${b.url}/api/v1/channels/agent:a1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await cluster.token({ user: 'svc', roles: ['service'] })}`, 'content-type': 'application/json' },
      body: JSON.stringify(agentEvent('completed')),
    });
    expect(response.status).toBe(201);
    const events = await subscriber.waitForEvents('agent:a1', 3);
    expect(events.map((e) => (e.event as { payload: { status: string } }).payload.status)).toEqual(['thinking', 'running', 'completed']);
    expect(events.map((e) => e.offset)).toEqual([1, 2, 3]);
    await Promise.all([subscriber.close(), publisher.close()]);
  });

  it('resumes on node B from a position taken on node A without a gap', async () => {
    const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const publisher = await RawClient.connect(a.wsUrl, await cluster.token());
    const first = await RawClient.connect(a.wsUrl, await cluster.token({ user: 'bob' }));
    await first.request({ type: 'subscribe', channels: ['agent:resume'] });
    await publisher.request({ type: 'publish', channel: 'agent:resume', event: agentEvent('idle') });
    const [seen] = await first.waitForEvents('agent:resume', 1);
    await first.close();
    await publisher.request({ type: 'publish', channel: 'agent:resume', event: agentEvent('waiting') });
    await publisher.request({ type: 'publish', channel: 'agent:resume', event: agentEvent('running') });
    const second = await RawClient.connect(b.wsUrl, await cluster.token({ user: 'bob' }));
    const reply = await second.request({
      type: 'subscribe',
      channels: ['agent:resume'],
      since: { 'agent:resume': { offset: seen!.offset, epoch: seen!.epoch } },
    });
    expect(reply).toMatchObject({ ok: true, result: { subscriptions: [{ recovered: true }] } });
    const events = await second.waitForEvents('agent:resume', 2);
    expect(events.map((e) => e.offset)).toEqual([2, 3]);
    await Promise.all([second.close(), publisher.close()]);
  });

  it('a session resumed on node B closes its stale connection on node A with 4503 at once, with no traffic (over the control bus)', async () => {
    const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const open = async (url: string, sessionToken?: string) => {
      const client = await RawClient.open(url);
      const answer = await client.request({ type: 'connect', token: await cluster.token({ user: 'carol' }), ...(sessionToken ? { sessionToken } : {}) });
      return { client, grant: answer.result as { sessionToken: string; sessionId: string; resumed: boolean } };
    };
    const stale = await open(a.wsUrl);
    expect((await stale.client.request({ type: 'subscribe', channels: ['agent:fenced'] })).ok).toBe(true);
    // Let it write its subscription (SESSION_FLUSH_MS): from then on it has nothing to write, so only the claim can fence it.
    await new Promise((r) => setTimeout(r, 1_500));
    // The session is stored in the background as it starts: ask until node B can resume it.
    let fresh = await open(b.wsUrl, stale.grant.sessionToken);
    for (let attempt = 0; !fresh.grant.resumed && attempt < 100; attempt++) {
      await fresh.client.close();
      await new Promise((r) => setTimeout(r, 50));
      fresh = await open(b.wsUrl, stale.grant.sessionToken);
    }
    expect(fresh.grant).toMatchObject({ sessionId: stale.grant.sessionId, resumed: true });
    // Without the announcement the stale connection would learn it only at its next session write.
    const closed = await Promise.race([stale.client.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 3_000))]);
    expect(closed?.code).toBe(4503);
    await fresh.client.close();
  });

  it('an admin change made on node A reaches open connections on node B within 5 s (over the control bus)', async () => {
    const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const org = `managed-${Date.now()}`;
    await a.repositories.organizations.create({ id: org, name: 'Managed' });
    await a.repositories.users.create({ id: `${org}-ann`, email: `ann@${org}.test`, passwordHash: 'x' });
    await a.repositories.memberships.put(org, `${org}-ann`, ['member']);
    const ann = await RawClient.connect(b.wsUrl, await cluster.token({ org, user: `${org}-ann` }));
    expect((await ann.request({ type: 'subscribe', channels: ['org:news'] })).ok).toBe(true);
    // The change happens on node A: its row and its event; node B learns of it only over Redis.
    await a.repositories.memberships.remove(org, `${org}-ann`);
    const removedAt = performance.now();
    await a.controlPlane.accessChanged({ kind: 'membership', organizationId: org, userId: `${org}-ann` });
    expect(await ann.next((f) => f.type === 'subscription.removed', 5_000)).toMatchObject({ channel: 'org:news', reason: 'revoked' });
    expect((await ann.closed).code).toBe(4501);
    expect(performance.now() - removedAt).toBeLessThan(5_000);
  });

  it('an idempotent publish retried on another node appends once', async () => {
    const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const token = await cluster.token({ user: 'svc', roles: ['service'] });
    const post = (url: string) =>
      fetch(`${url}/api/v1/channels/agent:idem/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...agentEvent('offline'), idempotencyKey: 'k-1' }),
      }).then((r) => r.json() as Promise<{ offset: number; duplicate: boolean }>);
    const first = await post(a.url);
    const retry = await post(b.url);
    expect(retry).toMatchObject({ offset: first.offset, duplicate: true });
  });

  it('status names the engine and storage and lists every live node, with cluster-wide connections', async () => {
    const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const client = await RawClient.connect(b.wsUrl, await cluster.token());
    await b.nodes.refresh(); // counts are renewed with each heartbeat: one now instead of waiting for the next
    // The details are a platform admin's view.
    const operator = await cluster.token({ user: 'operator', roles: ['platform-admin'] });
    const status = (await (await fetch(`${a.url}/api/v1/status`, { headers: { authorization: `Bearer ${operator}` } })).json()) as Record<string, unknown> & { nodes: Array<{ nodeId: string; connections: number }> };
    expect(status).toMatchObject({ engine: 'redis', storage: 'postgres', engineHealthy: true });
    expect(status.nodes.map((n) => n.nodeId).sort()).toEqual((await b.nodes.list()).map((n) => n.nodeId).sort());
    expect(status.nodes).toHaveLength(2);
    expect(status.clusterConnections).toBeGreaterThanOrEqual(1);
    await client.close();
  });

  it('presence of a room is cluster-wide and follows subscriptions and closes', async () => {
    const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const onA = await RawClient.connect(a.wsUrl, await cluster.token({ user: 'alice' }));
    const onB = await RawClient.connect(b.wsUrl, await cluster.token({ user: 'bob' }));
    await onA.request({ type: 'subscribe', channels: ['room:design'] });
    await onB.request({ type: 'subscribe', channels: ['room:design'] });
    const read = async (url: string) =>
      (await (await fetch(`${url}/api/v1/channels/room:design/presence`, { headers: { authorization: `Bearer ${await cluster.token()}` } })).json()) as {
        members: Array<{ userId: string }>;
        stats: { clients: number; users: number };
      };
    const deadline = performance.now() + 10_000;
    while ((await read(a.url)).stats.clients < 2 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const both = await read(a.url);
    expect(both.stats).toEqual({ clients: 2, users: 2 });
    expect(both.members.map((m) => m.userId).sort()).toEqual(['alice', 'bob']);
    await onB.close();
    while ((await read(a.url)).stats.clients > 1 && performance.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 50));
    expect((await read(b.url)).members.map((m) => m.userId)).toEqual(['alice']);
    await onA.close();
  });
});
