import { ApiXClient, type InboxItem } from '@apix/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The SDK's side of sessions (memory engine): it keeps the latest session token (renewals
 * included), sends it with its own positions on reconnect, adopts the subscriptions the
 * server restored instead of subscribing again, and `client.inbox()` reports a gap it
 * cannot fill as a `gap` item.
 */
let server: TestServer;
beforeAll(async () => {
  // A short TTL makes renewals come every 0.5 s; inboxes keep only 5 events here (the gap case).
  server = await startTestServer({ SESSION_TTL_MS: 5_000, SESSION_FLUSH_MS: 100, INBOX_HISTORY_SIZE: 5 });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** A `ws` WebSocket that records what the SDK sends and receives, and can be cut like a network drop. */
function trackedSockets() {
  const sockets: Array<{ socket: WebSocket; sent: Array<Record<string, unknown>>; received: Array<Record<string, unknown>> }> = [];
  class TrackedWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[], options?: ClientOptions) {
      super(url, protocols, options);
      const entry = { socket: this as WebSocket, sent: [] as Array<Record<string, unknown>>, received: [] as Array<Record<string, unknown>> };
      sockets.push(entry);
      this.on('message', (data) => entry.received.push(JSON.parse(data.toString()) as Record<string, unknown>));
    }
    override send(data: unknown, ...rest: unknown[]): void {
      sockets.at(-1)!.sent.push(JSON.parse(String(data)) as Record<string, unknown>);
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  }
  return { sockets, WebSocket: TrackedWebSocket };
}

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function publish(publisher: RawClient, channel: string, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) await publisher.request({ type: 'publish', channel, event: { type: 'note', payload: i } });
}

describe('SDK sessions', () => {
  it('resumes its session after a drop with the latest (renewed) token, adopts the restored subscription and delivers every event once', async () => {
    const tracked = trackedSockets();
    const client = new ApiXClient(server.wsUrl, { token: await server.token({ user: 'gus' }), WebSocket: tracked.WebSocket as never, minReconnectDelayMs: 50, maxReconnectDelayMs: 200 });
    const received: number[] = [];
    client.subscribe('agent:sdk-sess', { publication: (ctx) => received.push(ctx.event.payload as number) });
    client.connect();
    await client.getSubscription('agent:sdk-sess')!.ready(10_000);
    const first = client.session!;
    expect(first.resumed).toBe(false);
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    await publish(publisher, 'agent:sdk-sess', 1, 3);
    await until(() => received.length === 3, '3 events');
    // Wait for a renewal: the token sent on reconnect must be the renewed one.
    await until(() => tracked.sockets[0]!.received.some((f) => f.type === 'session.renewed'), 'session.renewed');
    const renewed = tracked.sockets[0]!.received.filter((f) => f.type === 'session.renewed').at(-1)!.sessionToken;

    tracked.sockets[0]!.socket.terminate();
    await publish(publisher, 'agent:sdk-sess', 4, 5);
    await until(() => received.length === 8, '8 events');
    expect(received).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(client.session).toMatchObject({ sessionId: first.sessionId, resumed: true });
    const second = tracked.sockets.at(-1)!;
    const connect = second.sent.find((f) => f.type === 'connect')!;
    expect(connect.sessionToken).toBe(renewed);
    expect(connect.since).toMatchObject({ 'agent:sdk-sess': { offset: 3 } });
    // The server gave the subscription back: the SDK did not subscribe a second time.
    expect(second.sent.filter((f) => f.type === 'subscribe')).toEqual([]);
    client.disconnect();
    await publisher.close();
  });

  it('client.inbox() yields events in order across a drop, and a gap item when the inbox no longer holds what was missed', async () => {
    const tracked = trackedSockets();
    // Offline: a port nobody listens on, so reconnects fail until we are back.
    let endpoint = server.wsUrl;
    const client = new ApiXClient(() => endpoint, { token: await server.token({ user: 'hana' }), WebSocket: tracked.WebSocket as never, minReconnectDelayMs: 50, maxReconnectDelayMs: 200 });
    client.connect();
    await client.ready(10_000);
    const items: InboxItem[] = [];
    const inbox = client.inbox();
    const reading = (async () => {
      for await (const item of inbox) items.push(item);
    })();
    await client.getSubscription('user:hana:inbox')!.ready(10_000);
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'hana' }));
    await publish(publisher, 'user:hana:inbox', 1, 2);
    await until(() => items.length === 2, '2 items');
    endpoint = 'ws://127.0.0.1:9/ws';
    tracked.sockets[0]!.socket.terminate();
    await publish(publisher, 'user:hana:inbox', 3, 20); // the inbox keeps 5: 15 are gone
    endpoint = server.wsUrl;
    await until(() => client.session?.resumed === true, 'resumed');
    await publish(publisher, 'user:hana:inbox', 23, 1);
    await until(() => items.at(-1)?.kind === 'event' && (items.at(-1) as { event: { payload: unknown } }).event.payload === 23, 'the live event');
    const [one, two, gap, ...rest] = items;
    expect([one, two].map((i) => i?.kind === 'event' && i.event.payload)).toEqual([1, 2]);
    expect(gap).toEqual({ kind: 'gap', channel: 'user:hana:inbox', missed: 20 });
    // After a gap nothing is replayed as if it were whole: only what came live.
    expect(rest.map((i) => i.kind === 'event' && i.event.payload)).toEqual([23]);
    await inbox.return();
    await reading;
    expect(client.getSubscription('user:hana:inbox')).toBeUndefined();
    client.disconnect();
    await publisher.close();
  });
});
