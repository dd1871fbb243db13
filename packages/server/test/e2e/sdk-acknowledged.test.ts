import { ApiXClient, type MessageFailedContext, type PublicationContext } from '@apix/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer | undefined;
const clients: ApiXClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await server?.stop();
  server = undefined;
});

describe('SDK: acknowledged subscriptions', () => {
  it('acks each event once its listener returned: nothing is redelivered or dead-lettered', { timeout: 60_000 }, async () => {
    // Short deadlines: without the SDK's acks every event would be dead-lettered within ~1 s.
    server = await startTestServer({ ACK_TIMEOUT_MS: 100, ACK_RETRY_BASE_MS: 50, ACK_RETRY_CAP_MS: 100, ACK_MAX_DELIVERIES: 2 });
    const subscriber = new ApiXClient(server.wsUrl, { token: await server.token(), WebSocket: WebSocket as never });
    const publisher = new ApiXClient(server.wsUrl, { token: await server.token({ user: 'pub' }), WebSocket: WebSocket as never });
    clients.push(subscriber, publisher);
    const received: PublicationContext[] = [];
    const failed: MessageFailedContext[] = [];
    const sub = subscriber.newSubscription('agent:sdk-acked', { acknowledgment: true });
    sub.on('publication', (ctx) => received.push(ctx));
    sub.on('failed', (ctx) => failed.push(ctx));
    sub.subscribe();
    subscriber.connect();
    publisher.connect();
    await Promise.all([subscriber.ready(5_000), publisher.ready(5_000), sub.ready(5_000)]);
    for (let i = 1; i <= 20; i++) await publisher.publish('agent:sdk-acked', { type: 'note', payload: i });
    const deadline = Date.now() + 10_000;
    while (received.length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // Longer than every redelivery and dead-letter deadline of an unacked event (2 × (100 + 100) ms).
    await new Promise((r) => setTimeout(r, 800));
    expect(received.map((r) => r.event.payload)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(failed).toEqual([]);
    const response = await fetch(`${server.url}/api/v1/channels/agent:sdk-acked/dead-letters`, { headers: { authorization: `Bearer ${await server.token()}` } });
    expect(await response.json()).toMatchObject({ letters: [] });
  });
});
