import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix } from '../cluster/redis-processes.js';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * ADR 0048 through the server on the real Redis: the acknowledged group of a session that
 * expired without coming back is removed from the channel's stream when a later subscriber joins
 * a group on that channel (after the hygiene interval); a live session's group stays. The
 * decisions themselves (TTL, interval, pages) are test/realtime/group-hygiene.test.ts.
 */
const REDIS_URL = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `apixtest-hyg-${process.pid}-${Date.now()}`;
const SESSION_TTL_MS = 1_000;

let server: TestServer | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.stop();
  server = undefined;
});
afterAll(() => deleteKeysWithPrefix(REDIS_URL, PREFIX));

async function subscriber(user: string, channel: string): Promise<{ client: RawClient; sessionId: string }> {
  const client = await RawClient.open(server!.wsUrl);
  clients.push(client);
  const connected = await client.request({ type: 'connect', token: await server!.token({ user }) });
  if (connected.ok !== true) throw new Error(`connect refused: ${JSON.stringify(connected)}`);
  await client.next((f) => f.type === 'connection.established');
  expect(await client.request({ type: 'subscribe', channels: [channel], acknowledgment: true })).toMatchObject({ ok: true });
  return { client, sessionId: (connected.result as { sessionId: string }).sessionId };
}

/** The consumer groups on the test prefix's log streams that carry `channel`'s events. */
async function groupsOnLog(prefix: string): Promise<string[]> {
  const redis = new Redis(REDIS_URL);
  try {
    const names: string[] = [];
    for (const key of await redis.keys(`${prefix}:*:s`)) {
      if ((await redis.type(key)) !== 'stream') continue;
      for (const group of (await redis.call('XINFO', 'GROUPS', key)) as unknown[][]) names.push(String(group[1]));
    }
    return names;
  } finally {
    redis.disconnect();
  }
}

describe('groups of sessions that never come back (Redis engine)', () => {
  it('are removed by the next join on the channel once the session expired; a live session keeps its group', { timeout: 60_000 }, async () => {
    const prefix = `${PREFIX}-${Math.random().toString(36).slice(2, 8)}`;
    server = await startTestServer({ REDIS_URL, REDIS_KEY_PREFIX: prefix, SESSION_TTL_MS, SESSION_FLUSH_MS: 100, GROUP_HYGIENE_INTERVAL_MS: 500 });
    const channel = 'agent:hygiene';
    const gone = await subscriber('gone', channel);
    const stays = await subscriber('stays', channel);
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'publisher' }));
    clients.push(publisher);
    expect(await publisher.request({ type: 'publish', channel, event: { type: 'job', payload: 1 } })).toMatchObject({ ok: true });
    await gone.client.next((f) => f.type === 'event');
    expect((await groupsOnLog(prefix)).sort()).toEqual([`a:${gone.sessionId}`, `a:${stays.sessionId}`].sort());

    // Gone without a word (no unsubscribe: ADR 0046 keeps the group for a resume that never comes).
    gone.client.socket.terminate();
    await gone.client.closed;
    // Past its TTL (the session hash expires) and past the hygiene interval; the other session lives on.
    await new Promise((r) => setTimeout(r, SESSION_TTL_MS * 2 + 500));
    await subscriber('newcomer', channel);
    const deadline = performance.now() + 10_000;
    while ((await groupsOnLog(prefix)).includes(`a:${gone.sessionId}`) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const groups = await groupsOnLog(prefix);
    expect(groups).not.toContain(`a:${gone.sessionId}`);
    expect(groups).toContain(`a:${stays.sessionId}`);
  });
});
