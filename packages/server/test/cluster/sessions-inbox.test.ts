import { ApiXClient, type InboxItem } from '@apix/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { RawClient } from '../support/raw-client.js';
import { startNodeCluster, type NodeCluster } from './node-processes.js';
import { RedisProcess } from './redis-processes.js';

/**
 * Durable sessions and the offline inbox across two real node processes on Redis (ADR 0040,
 * 0041): a user offline while 5,000 events land in the inbox gets all of them, in order, on
 * the OTHER node — through the SDK's `client.inbox()` iterator, and through a raw client that
 * relies on the positions the session stored in Redis alone.
 */
const OFFLINE_EVENTS = 5_000;

let redis: RedisProcess;
let cluster: NodeCluster;
beforeAll(async () => {
  redis = await RedisProcess.start();
  cluster = await startNodeCluster(2, {
    REDIS_URL: redis.url,
    // Ordinary channels keep 20 events (the past-retention case); inboxes keep the inbox default (10,000).
    HISTORY_SIZE: '20',
    // 5,000 publishes in one burst from one test connection: not what rate limits are tested on here.
    RATE_LIMIT_REQUESTS_PER_SECOND: '0',
    CHANNEL_PUBLISH_RATE_LIMIT: '0',
    QUOTA_PUBLISHES_PER_SECOND: '1000000',
    // The default send cap (1 MiB): the resume's replay is paced by the socket (ADR 0045).
  });
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
}, 60_000);

/** Publishes `count` events, pipelined in windows so the test does not wait a round trip per event. */
async function publishMany(publisher: RawClient, channel: string, from: number, count: number): Promise<void> {
  for (let start = from; start < from + count; start += 250) {
    const replies = [];
    for (let i = start; i < Math.min(start + 250, from + count); i++) replies.push(publisher.request({ type: 'publish', channel, event: { type: 'inbox.note', payload: i } }));
    for (const reply of await Promise.all(replies)) if (reply.ok !== true) throw new Error(JSON.stringify(reply));
  }
}

describe('durable sessions across nodes (Redis)', () => {
  it(`an SDK client offline while ${OFFLINE_EVENTS} events reach its inbox gets all of them in order from client.inbox() on the other node`, async () => {
    const [a, b] = cluster.nodes as [NonNullable<(typeof cluster.nodes)[0]>, NonNullable<(typeof cluster.nodes)[0]>];
    const sockets: WebSocket[] = [];
    class TrackedWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[], options?: ClientOptions) {
        super(url, protocols, options);
        sockets.push(this);
      }
    }
    // Online: node A. Offline: a port nobody listens on (the reconnects fail fast). Back: node B.
    let endpoint = a.wsUrl;
    const client = new ApiXClient(() => endpoint, {
      token: await cluster.token({ user: 'dora' }),
      WebSocket: TrackedWebSocket as never,
      minReconnectDelayMs: 50,
      maxReconnectDelayMs: 300,
    });
    client.connect();
    await client.ready(30_000);
    const firstSession = client.session!;
    const inbox = client.inbox();
    const publisher = await RawClient.connect(a.wsUrl, await cluster.token({ user: 'dora' }));
    const items: InboxItem[] = [];
    const reading = (async () => {
      for await (const item of inbox) {
        items.push(item);
        if (items.length === OFFLINE_EVENTS + 3) break;
      }
    })();
    await client.getSubscription('user:dora:inbox')!.ready(30_000);
    await publishMany(publisher, 'user:dora:inbox', 1, 3);
    while (items.length < 3) await new Promise((r) => setTimeout(r, 20));

    endpoint = 'ws://127.0.0.1:9/ws';
    sockets.at(-1)!.terminate(); // the network went away: no close handshake
    await publishMany(publisher, 'user:dora:inbox', 4, OFFLINE_EVENTS);
    endpoint = b.wsUrl;

    await Promise.race([reading, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${items.length} inbox items`)), 60_000))]);
    expect(items.every((item) => item.kind === 'event')).toBe(true);
    expect(items.map((item) => (item.kind === 'event' ? (item.event.payload as number) : -1))).toEqual(Array.from({ length: OFFLINE_EVENTS + 3 }, (_, i) => i + 1));
    // The same session, resumed on the other node.
    expect(sockets.at(-1)!.url).toBe(b.wsUrl);
    expect(client.session).toMatchObject({ sessionId: firstSession.sessionId, resumed: true });
    client.disconnect();
    await publisher.close();
  }, 120_000);

  it('a raw client that sends only its session token resumes on the other node from the positions stored in Redis', async () => {
    const [a, b] = cluster.nodes as [NonNullable<(typeof cluster.nodes)[0]>, NonNullable<(typeof cluster.nodes)[0]>];
    const token = await cluster.token({ user: 'emil' });
    const first = await RawClient.open(a.wsUrl);
    const connected = (await first.request({ type: 'connect', token })).result as { sessionId: string; sessionToken: string };
    await first.request({ type: 'subscribe', channels: ['user:emil:inbox', 'agent:short'] });
    const publisher = await RawClient.connect(a.wsUrl, token);
    await publishMany(publisher, 'user:emil:inbox', 1, 3);
    await publishMany(publisher, 'agent:short', 1, 3);
    await first.waitForEvents('user:emil:inbox', 3);
    await first.waitForEvents('agent:short', 3);
    await first.close(); // its last positions are written to Redis on close

    await publishMany(publisher, 'user:emil:inbox', 4, OFFLINE_EVENTS);
    await publishMany(publisher, 'agent:short', 4, 50); // past the 20 an ordinary channel keeps
    const second = await RawClient.open(b.wsUrl);
    const reply = await second.request({ type: 'connect', token, sessionToken: connected.sessionToken });
    expect(reply.result).toMatchObject({ sessionId: connected.sessionId, resumed: true });
    const established = await second.next((f) => f.type === 'connection.established');
    const states = Object.fromEntries((established.subscriptions as Array<{ channel: string }>).map((s) => [s.channel, s]));
    expect(states['user:emil:inbox']).toMatchObject({ recovering: true, recovered: true });
    expect(states['agent:short']).toMatchObject({ recovering: true, recovered: false, missed: 50 });
    const events = await second.waitForEvents('user:emil:inbox', OFFLINE_EVENTS, 60_000);
    expect(events.map((e) => (e.event as { payload: number }).payload)).toEqual(Array.from({ length: OFFLINE_EVENTS }, (_, i) => i + 4));
    // Past retention nothing is replayed as if it were whole; live events still come.
    await publishMany(publisher, 'agent:short', 54, 1);
    expect((await second.waitForEvents('agent:short', 1)).map((e) => e.offset)).toEqual([54]);
    await Promise.all([second.close(), publisher.close()]);
  }, 120_000);

  it('refuses a forged session token on the other node with a typed error and a fresh session', async () => {
    const [a, b] = cluster.nodes as [NonNullable<(typeof cluster.nodes)[0]>, NonNullable<(typeof cluster.nodes)[0]>];
    const first = await RawClient.open(a.wsUrl);
    const { sessionToken, sessionId } = (await first.request({ type: 'connect', token: await cluster.token({ user: 'fay' }) })).result as { sessionId: string; sessionToken: string };
    await first.close();
    const [version, payload] = sessionToken.split('.') as [string, string];
    const second = await RawClient.open(b.wsUrl);
    const reply = await second.request({ type: 'connect', token: await cluster.token({ user: 'fay' }), sessionToken: `${version}.${payload}.${'A'.repeat(43)}` });
    expect(reply.result).toMatchObject({ resumed: false, sessionError: { code: 'APIX_ERR_SESSION_INVALID' } });
    expect((reply.result as { sessionId: string }).sessionId).not.toBe(sessionId);
    await second.close();
  }, 60_000);
});
