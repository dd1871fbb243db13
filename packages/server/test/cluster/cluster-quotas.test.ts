import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startNodeCluster, type NodeCluster, type NodeProcess } from './node-processes.js';
import { RedisProcess } from './redis-processes.js';

/**
 * Quotas in a cluster of two node processes sharing one (throwaway) Redis: an override set on
 * node A applies on node B within 5 s (control bus), and what an organisation holds —
 * connections, subscriptions, channels — is counted across the nodes, not per node.
 */
let redis: RedisProcess;
let cluster: NodeCluster;
let a: NodeProcess;
let b: NodeProcess;
beforeAll(async () => {
  redis = await RedisProcess.start();
  cluster = await startNodeCluster(2, { REDIS_URL: redis.url });
  [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
}, 60_000);

async function eventually(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function setQuotas(node: NodeProcess, org: string, overrides: Record<string, number>): Promise<void> {
  const token = await cluster.token({ org: 'operators', user: 'root', roles: ['platform-admin'] });
  const response = await fetch(`${node.url}/api/v1/admin/organizations/${org}/quotas`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(overrides),
  });
  expect(response.status).toBe(200);
}

/** Waits until `node` applies the override (it arrives over the control bus). */
async function quotaSeenOn(node: NodeProcess, org: string, quota: string, value: number): Promise<void> {
  const headers = { authorization: `Bearer ${await cluster.token({ org, user: 'reader' })}` };
  await eventually(async () => {
    const view = (await (await fetch(`${node.url}/api/v1/admin/organizations/${org}/quotas`, { headers })).json()) as { effective: Record<string, number> };
    return view.effective[quota] === value;
  }, 5_000);
}

/** Connects; resolves 'established' or 'refused' (the quota's error frame and close 4005). */
async function tryConnect(node: NodeProcess, org: string, user: string): Promise<{ outcome: 'established' | 'refused'; client: RawClient }> {
  const client = await RawClient.open(node.wsUrl);
  client.send({ type: 'connect', id: 'c1', token: await cluster.token({ org, user }) });
  const frame = await client.next((f) => f.type === 'connection.established' || f.type === 'connection.error', 10_000);
  return { outcome: frame.type === 'connection.established' ? 'established' : 'refused', client };
}

describe('quota overrides in a cluster', () => {
  it('an override set on node A applies to connections on node B within 5 s', async () => {
    const org = 'q-propagated';
    const client = await RawClient.connect(b.wsUrl, await cluster.token({ org, user: 'ann' }));
    // Node B already holds the organisation's defaults in memory (it has a connection of it).
    expect(await client.request({ type: 'subscribe', channels: ['agent:1', 'agent:2', 'agent:3'] })).toMatchObject({ ok: true });
    await client.request({ type: 'unsubscribe', channels: ['agent:1', 'agent:2', 'agent:3'] });
    await setQuotas(a, org, { subscriptions: 2 });
    const setAt = performance.now();
    await eventually(async () => {
      const reply = await client.request({ type: 'subscribe', channels: ['agent:4', 'agent:5', 'agent:6'] });
      if (reply.ok === true) await client.request({ type: 'unsubscribe', channels: ['agent:4', 'agent:5', 'agent:6'] });
      return reply.ok === false && (reply.error as { code: string }).code === 'APIX_ERR_QUOTA_EXCEEDED';
    }, 5_000);
    expect(performance.now() - setAt).toBeLessThan(5_000);
    await client.close();
  });
});

describe('holdings counted across the cluster', () => {
  it('connections: the quota holds over both nodes, and a closed connection frees room on the other node', async () => {
    const org = 'q-cluster-conn';
    await setQuotas(a, org, { connections: 2 });
    await quotaSeenOn(b, org, 'connections', 2);
    const first = await tryConnect(a, org, 'one');
    const second = await tryConnect(b, org, 'two');
    expect([first.outcome, second.outcome]).toEqual(['established', 'established']);
    // Each node alone holds one: per-node counting would let both of these in.
    const third = await tryConnect(a, org, 'three');
    const fourth = await tryConnect(b, org, 'four');
    expect([third.outcome, fourth.outcome]).toEqual(['refused', 'refused']);
    expect((await third.client.closed).code).toBe(4005);
    await second.client.close();
    await eventually(async () => {
      const attempt = await tryConnect(a, org, 'five');
      await attempt.client.close();
      return attempt.outcome === 'established';
    }, 5_000);
    await first.client.close();
  });

  it('subscriptions: the quota holds over the organisation’s connections on both nodes', async () => {
    const org = 'q-cluster-subs';
    await setQuotas(a, org, { subscriptions: 3 });
    await quotaSeenOn(b, org, 'subscriptions', 3);
    const onA = await RawClient.connect(a.wsUrl, await cluster.token({ org, user: 'ann' }));
    const onB = await RawClient.connect(b.wsUrl, await cluster.token({ org, user: 'bob' }));
    expect(await onA.request({ type: 'subscribe', channels: ['agent:1', 'agent:2'] })).toMatchObject({ ok: true });
    expect(await onB.request({ type: 'subscribe', channels: ['agent:3', 'agent:4'] })).toMatchObject({
      ok: false,
      error: { code: 'APIX_ERR_QUOTA_EXCEEDED', details: { quota: 'subscriptions', limit: 3 } },
    });
    expect(await onB.request({ type: 'subscribe', channels: ['agent:3'] })).toMatchObject({ ok: true });
    await onA.request({ type: 'unsubscribe', channels: ['agent:1'] });
    await eventually(async () => (await onB.request({ type: 'subscribe', channels: ['agent:4'] })).ok === true, 5_000);
    await Promise.all([onA.close(), onB.close()]);
  });

  it('channels: the Redis engine counts the organisation’s channels across nodes', async () => {
    const org = 'q-cluster-channels';
    await setQuotas(a, org, { channels: 2 });
    await quotaSeenOn(b, org, 'channels', 2);
    const x = await RawClient.connect(a.wsUrl, await cluster.token({ org, user: 'ann' }));
    const y = await RawClient.connect(b.wsUrl, await cluster.token({ org, user: 'bob' }));
    const publish = (client: RawClient, channel: string) => client.request({ type: 'publish', channel, event: { type: 'note', payload: { n: 1 } } });
    expect(await publish(x, 'agent:c1')).toMatchObject({ ok: true });
    expect(await publish(y, 'agent:c2')).toMatchObject({ ok: true });
    // Each node alone has seen one channel: per-node counting would accept a third on either.
    expect(await publish(x, 'agent:c3')).toMatchObject({ ok: false, error: { code: 'APIX_ERR_QUOTA_EXCEEDED', details: { quota: 'channels', limit: 2 } } });
    expect(await publish(y, 'agent:c3')).toMatchObject({ ok: false, error: { code: 'APIX_ERR_QUOTA_EXCEEDED' } });
    // A channel the organisation already has stays usable from any node.
    expect(await publish(y, 'agent:c1')).toMatchObject({ ok: true });
    await Promise.all([x.close(), y.close()]);
  });
});
