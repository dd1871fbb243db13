import { ApiXClient, type PublicationContext } from '@apix/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { QueueGroupMember, waitUntil } from '../support/queue-group-member.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The SDK's `group` option (ADR 0042): members share the channel's events, each event reaches
 * one application listener and is acked by the SDK; an event claimed from a dead member is
 * delivered even though it is older than events the member already delivered (a queue-group
 * member tells duplicates by identity, not by position).
 */
let server: TestServer | undefined;
const clients: ApiXClient[] = [];
const raw: QueueGroupMember[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(raw.splice(0).map((m) => m.client.close()));
  await server?.stop();
  server = undefined;
});

const IDLE_MS = 1_500;
/** Short ack deadlines: an event the SDK failed to ack would come back within ~0.5 s. */
const CONFIG = { ACK_TIMEOUT_MS: 300, ACK_RETRY_BASE_MS: 50, ACK_RETRY_CAP_MS: 100, ACK_MAX_DELIVERIES: 3, GROUP_IDLE_MS: IDLE_MS };

async function sdkMember(user: string, channel: string, received: PublicationContext[]): Promise<ApiXClient> {
  const client = new ApiXClient(server!.wsUrl, { token: await server!.token({ user }), WebSocket: WebSocket as never });
  clients.push(client);
  const sub = client.newSubscription(channel, { group: 'workers' });
  sub.on('publication', (ctx) => received.push(ctx));
  sub.subscribe();
  client.connect();
  await Promise.all([client.ready(5_000), sub.ready(5_000)]);
  return client;
}

describe('SDK: queue group members', () => {
  it('each event reaches one member\'s listener once and is acked; an older event claimed from a dead member is delivered, not dropped', { timeout: 60_000 }, async () => {
    server = await startTestServer(CONFIG);
    const channel = 'agent:sdk-group';
    const publisher = new ApiXClient(server.wsUrl, { token: await server.token({ user: 'pub' }), WebSocket: WebSocket as never });
    clients.push(publisher);
    publisher.connect();
    await publisher.ready(5_000);
    // A raw member alone first, holding its events unacked; then its socket drops.
    const doomed = await QueueGroupMember.join(server.wsUrl, await server.token({ user: 'doomed' }), 'doomed', channel, 'workers', { holdAcks: true });
    raw.push(doomed);
    for (let i = 1; i <= 3; i++) await publisher.publish(channel, { type: 'job', payload: i });
    await waitUntil(() => doomed.receipts.length >= 3, 'the raw member to hold three events');

    const a: PublicationContext[] = [];
    const b: PublicationContext[] = [];
    await sdkMember('a', channel, a);
    await sdkMember('b', channel, b);
    doomed.client.socket.terminate();
    await doomed.client.closed;
    for (let i = 4; i <= 20; i++) await publisher.publish(channel, { type: 'job', payload: i });

    // Everything arrives once in all, the dead member's three after the idle time (older than what the members saw by then).
    await waitUntil(() => a.length + b.length >= 20, 'twenty events across the SDK members', 20_000);
    // Past an ack deadline and a claim pass: nothing comes again (the SDK acked every one).
    await new Promise((r) => setTimeout(r, CONFIG.ACK_TIMEOUT_MS * 3 + IDLE_MS));
    const payloads = [...a, ...b].map((p) => p.event.payload as number).sort((x, y) => x - y);
    expect(payloads).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const response = await fetch(`${server.url}/api/v1/channels/${channel}/dead-letters`, { headers: { authorization: `Bearer ${await server.token()}` } });
    expect(await response.json()).toMatchObject({ letters: [] });
  });
});
