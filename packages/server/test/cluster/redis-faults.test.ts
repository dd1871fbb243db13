import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelKeys } from '../../src/engine/redis-keys.js';
import { RawClient } from '../support/raw-client.js';
import { startNodeCluster, waitReady, type NodeCluster } from './node-processes.js';
import { RedisProcess } from './redis-processes.js';

/**
 * Redis faults against real node processes and a throwaway redis-server (never the machine's):
 * a restart without persistence and a 10 s stall. Each scenario is bounded in time.
 */
let redis: RedisProcess;
let cluster: NodeCluster;
beforeAll(async () => {
  redis = await RedisProcess.start();
  cluster = await startNodeCluster(2, { REDIS_URL: redis.url });
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
}, 60_000);

const event = (id: string) => ({ type: 'agent_status_update', payload: { agentId: id, status: 'running' } });

async function post(url: string, token: string, channel: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/api/v1/channels/${channel}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Publishes until accepted (the same idempotency key on every attempt), like a well-behaved client. */
async function publishUntilAccepted(url: string, token: string, channel: string, id: string, deadlineMs = 30_000) {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const result = await post(url, token, channel, { ...event(id), idempotencyKey: id }).catch(() => undefined);
    if (result?.status === 201) return result.body as { offset: number; epoch: string; duplicate: boolean };
    if (performance.now() > deadline) throw new Error(`publish ${id} not accepted in time: ${JSON.stringify(result)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Redis restarted without persistence mid-stream', () => {
  it('starts a new epoch, and a client resuming from the old one is told recovered: false', async () => {
    const [a, b] = cluster.nodes as [NonNullable<(typeof cluster.nodes)[0]>, NonNullable<(typeof cluster.nodes)[0]>];
    const token = await cluster.token({ user: 'svc', roles: ['service'] });
    const subscriber = await RawClient.connect(a.wsUrl, await cluster.token({ user: 'bob' }));
    await subscriber.request({ type: 'subscribe', channels: ['agent:restart'] });
    for (let i = 1; i <= 5; i++) await publishUntilAccepted(b.url, token, 'agent:restart', `before-${i}`);
    const seen = await subscriber.waitForEvents('agent:restart', 5);
    const last = seen.at(-1)!;
    await subscriber.close();

    await redis.restart();
    const after = await publishUntilAccepted(b.url, token, 'agent:restart', 'after-1');
    expect(after.epoch).not.toBe(last.epoch);
    expect(after.offset).toBe(1);

    const resuming = await RawClient.connect(a.wsUrl, await cluster.token({ user: 'bob' }));
    const reply = await resuming.request({ type: 'subscribe', channels: ['agent:restart'], since: { 'agent:restart': { offset: last.offset, epoch: last.epoch } } });
    expect(reply).toMatchObject({ ok: true, result: { subscriptions: [{ channel: 'agent:restart', recovered: false, position: { epoch: after.epoch } }] } });
    // Never a partial silent replay: nothing of the new epoch is presented as the continuation.
    await new Promise((r) => setTimeout(r, 300));
    expect(resuming.events('agent:restart')).toEqual([]);
    await resuming.close();
  }, 60_000);
});

describe('Redis stalled (SIGSTOP for 10 s)', () => {
  it('fails publishes fast, keeps memory bounded, reports degraded, recovers by itself, and stores no duplicate', async () => {
    const node = cluster.nodes[0]!;
    const token = await cluster.token({ user: 'svc', roles: ['service'] });
    await waitReady(node.url);
    const accepted = new Map<string, number>();
    for (let i = 0; i < 20; i++) accepted.set(`pre-${i}`, (await publishUntilAccepted(node.url, token, 'agent:stall', `pre-${i}`)).offset);
    const rssBefore = await node.rssBytes();

    redis.pause();
    const pausedAt = performance.now();
    try {
      // While stalled: each publish is refused with UNAVAILABLE within the command timeout, not queued.
      const failures: Array<{ status: number; code: unknown; ms: number }> = [];
      const ids: string[] = [];
      let n = 0;
      while (performance.now() - pausedAt < 8_000) {
        const batch = Array.from({ length: 50 }, () => `stall-${++n}`);
        ids.push(...batch);
        const results = await Promise.all(
          batch.map(async (id) => {
            const started = performance.now();
            const result = await post(node.url, token, 'agent:stall', { ...event(id), idempotencyKey: id });
            return { status: result.status, code: (result.body.error as { code?: string } | undefined)?.code, ms: performance.now() - started };
          }),
        );
        failures.push(...results);
      }
      expect(failures.length).toBeGreaterThan(0);
      for (const f of failures) expect(f).toMatchObject({ status: 503, code: 'APIX_ERR_UNAVAILABLE' });
      expect(Math.max(...failures.map((f) => f.ms))).toBeLessThan(6_000);
      const ready = await fetch(`${node.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ error: { code: 'APIX_ERR_UNAVAILABLE' } });
      // Bounded: what was refused is not held (generous: a GC may not have run yet).
      expect((await node.rssBytes()) - rssBefore).toBeLessThan(150 * 1024 * 1024);
      while (performance.now() - pausedAt < 10_000) await new Promise((r) => setTimeout(r, 100));
      redis.resume();

      // Recovers by itself; clients retry what was refused, with the same idempotency keys.
      await waitReady(node.url, 30_000);
      for (const id of ids) accepted.set(id, (await publishUntilAccepted(node.url, token, 'agent:stall', id)).offset);
    } finally {
      redis.resume();
    }

    // The log holds each event exactly once, at the offset its publisher was told.
    const raw = new Redis(redis.url);
    const keys = channelKeys('apix', 'acme/agent:stall');
    const entries = await raw.xrange(keys.stream, '-', '+');
    await raw.quit();
    const stored = entries.map(([id, fields]) => ({ offset: Number(id.split('-')[0]), agentId: (JSON.parse(fields[1]!) as { payload: { agentId: string } }).payload.agentId }));
    const storedIds = stored.map((s) => s.agentId);
    expect(new Set(storedIds).size).toBe(storedIds.length);
    expect(storedIds.sort()).toEqual([...accepted.keys()].sort());
    for (const s of stored) expect(accepted.get(s.agentId)).toBe(s.offset);
  }, 90_000);
});
