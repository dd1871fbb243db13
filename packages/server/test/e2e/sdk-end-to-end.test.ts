import { ApiXClient, ClientState, type PublicationContext, type SubscribedContext } from '@apix/sdk';
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

function client(url: string, token: string | (() => Promise<string>), extra: Partial<ConstructorParameters<typeof ApiXClient>[1]> = {}): ApiXClient {
  const c = new ApiXClient(url, { token, WebSocket: WebSocket as never, minReconnectDelayMs: 50, maxReconnectDelayMs: 200, ...extra });
  clients.push(c);
  return c;
}

const eventually = async (check: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('SDK against the real server', () => {
  it('two clients exchange typed events; publish resolves with the position', async () => {
    server = await startTestServer();
    const alice = client(server.wsUrl, await server.token());
    const bob = client(server.wsUrl, await server.token({ user: 'bob' }));
    const received: PublicationContext[] = [];
    const sub = bob.subscribe('agent:sdk', { publication: (ctx) => received.push(ctx) });
    alice.connect();
    bob.connect();
    await Promise.all([alice.ready(5_000), bob.ready(5_000), sub.ready(5_000)]);
    const result = await alice.publish('agent:sdk', { type: 'agent_status_update', payload: { agentId: 'a', status: 'running' } });
    expect(result).toMatchObject({ channel: 'agent:sdk', offset: 1, duplicate: false });
    await eventually(() => received.length === 1);
    expect(received[0]).toMatchObject({ offset: 1, epoch: result.epoch, event: { type: 'agent_status_update', payload: { status: 'running' } } });
  });

  it('a client whose socket is killed while 1,000 events are published sees each exactly once, in order, and is told it recovered', async () => {
    server = await startTestServer();
    const subscriber = client(server.wsUrl, await server.token());
    const payloads: number[] = [];
    const subscribedContexts: SubscribedContext[] = [];
    subscriber.subscribe('agent:kill', {
      publication: (ctx) => payloads.push(ctx.event.payload as number),
      subscribed: (ctx) => subscribedContexts.push(ctx),
    });
    subscriber.connect();
    await subscriber.ready(5_000);
    await eventually(() => subscribedContexts.length === 1);
    const publisher = client(server.wsUrl, await server.token({ user: 'pub' }));
    publisher.connect();
    await publisher.ready(5_000);

    const TOTAL = 1_000;
    const publishing = (async () => {
      for (let i = 1; i <= TOTAL; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => publisher.publish('agent:kill', { type: 'note', payload: i + j })));
      }
    })();
    await eventually(() => payloads.length >= 150);
    // Kill the subscriber's socket from the server side: the network dropped it, no close handshake.
    const subscriberSession = subscriber.session!.connectionId;
    for (const connection of server.connections.values()) if (connection.id === subscriberSession) connection.socket.terminate();
    await publishing;
    await eventually(() => payloads.length >= TOTAL, 15_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(payloads).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    expect(subscribedContexts.length).toBeGreaterThanOrEqual(2);
    expect(subscribedContexts.at(-1)).toMatchObject({ recovering: true, recovered: true });
    expect(subscriber.state).toBe(ClientState.Connected);
  }, 30_000);

  it('refreshes its token over the open socket and stays connected past the first token expiry', async () => {
    server = await startTestServer({ TOKEN_EXPIRY_GRACE_MS: 200 });
    const s = server;
    let fetched = 0;
    const c = client(s.wsUrl, async () => {
      fetched++;
      return s.token({ ttlSeconds: 3 });
    }, { refreshMarginMs: 1_500 });
    const refreshed: number[] = [];
    c.on('refreshed', (ctx) => refreshed.push(ctx.expiresAt));
    c.connect();
    await c.ready(5_000);
    const firstConnection = c.session!.connectionId;
    await new Promise((r) => setTimeout(r, 4_000));
    expect(refreshed.length).toBeGreaterThanOrEqual(1);
    expect(fetched).toBeGreaterThanOrEqual(2);
    expect(c.state).toBe(ClientState.Connected);
    expect(c.session!.connectionId).toBe(firstConnection); // same socket: refreshed, not reconnected
  }, 15_000);

  it('surfaces recovered: false when the server lost the stream (new epoch after a restart)', async () => {
    server = await startTestServer();
    const first = client(server.wsUrl, await server.token());
    const contexts: SubscribedContext[] = [];
    const sub = first.subscribe('agent:restart', { subscribed: (ctx) => contexts.push(ctx) });
    first.connect();
    await sub.ready(5_000);
    await first.publish('agent:restart', { type: 'note', payload: 1 });
    await eventually(() => sub.position?.offset === 1);
    const position = sub.position!;
    first.disconnect();

    // A second client resumes from that position against a server whose memory log is gone.
    await server.broker.removeHistory('acme/agent:restart');
    const second = client(server.wsUrl, await server.token());
    const resumed: SubscribedContext[] = [];
    const again = second.newSubscription('agent:restart', { since: position });
    again.on('subscribed', (ctx) => resumed.push(ctx));
    again.subscribe();
    second.connect();
    await again.ready(5_000);
    expect(resumed[0]).toMatchObject({ recovering: true, recovered: false });
  });
});
